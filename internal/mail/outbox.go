package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OutboxOptions configures an Outbox.
type OutboxOptions struct {
	Logger *slog.Logger
	Now    func() time.Time // Date for messages without one; default time.Now
	DKIM   *DKIM            // optional: sign like the SMTP sender would
	// NoSync skips the fsync of each file (dry runs); by default a file is
	// synced before it is renamed into place, so "sent" means on disk.
	NoSync bool
}

// Outbox is a Sender that writes each message to DIR/<FileName>.eml. The
// demo uses it when no SMTP URL is configured, and dry runs use it to show
// what would be sent.
type Outbox struct {
	dir  string
	opts OutboxOptions
}

// NewOutbox returns an outbox writing to dir, which is created with the
// first message (so a service that sends nothing leaves no empty folder).
func NewOutbox(dir string, opts OutboxOptions) (*Outbox, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if dir == "" {
		return nil, fmt.Errorf("mail: outbox: empty folder name")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("mail: outbox %s: not a folder", dir)
	}
	return &Outbox{dir: dir, opts: opts}, nil
}

// Dir is the outbox folder.
func (o *Outbox) Dir() string { return o.dir }

// FileName is the deterministic file name for a Message-ID: the id without
// angle brackets, characters outside [A-Za-z0-9._@+=-] replaced by "_",
// plus ".eml". Writing the same message twice overwrites one file.
func FileName(messageID string) string {
	id := strings.Trim(messageID, "<>")
	b := []byte(id)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '@', c == '+', c == '=', c == '-':
		default:
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] == '.' {
		b[0] = '_'
	}
	return string(b) + ".eml"
}

// Send writes m atomically (temporary file in the same folder, then
// rename). The Result's Reply names the file.
func (o *Outbox) Send(ctx context.Context, m *Message) Result {
	if err := ctx.Err(); err != nil {
		return Result{Status: Temporary, Reply: err.Error(), Err: err}
	}
	msg, err := m.build(o.opts.Now())
	if err != nil {
		return Result{Status: Permanent, Reply: err.Error(), Err: err}
	}
	if o.opts.DKIM != nil {
		msg.SetDKIM(o.opts.DKIM.signer)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		err = fmt.Errorf("mail: outbox: render %s: %w", m.MessageID, err)
		return Result{Status: Permanent, Reply: err.Error(), Err: err}
	}
	path := filepath.Join(o.dir, FileName(m.MessageID))
	if err := o.write(path, buf.Bytes()); err != nil {
		err = fmt.Errorf("mail: outbox: %w", err)
		return Result{Status: Temporary, Reply: err.Error(), Err: err}
	}
	return Result{Status: Sent, Reply: "written to " + path}
}

// SendBatch writes each message in turn (SendEach).
func (o *Outbox) SendBatch(ctx context.Context, msgs []*Message) []Result {
	return SendEach(ctx, o, msgs)
}

func (o *Outbox) write(path string, data []byte) error {
	f, err := os.CreateTemp(o.dir, ".tmp-*.eml")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(o.dir, 0o755); err == nil {
			f, err = os.CreateTemp(o.dir, ".tmp-*.eml")
		}
	}
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && !o.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// Close does nothing; it lets an Outbox stand where a closable sender is
// expected.
func (o *Outbox) Close() error { return nil }
