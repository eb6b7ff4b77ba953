package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"sync"

	gosmtp "github.com/wneessen/go-mail/smtp"
)

// The SMTP transaction is written here rather than by go-mail's
// Client.Send for two reasons that together cost about a third of the
// CPU of a send: go-mail issues MAIL, RCPT and DATA one round trip each
// even when the server offers PIPELINING (RFC 2920), and it writes the
// message through net/textproto's dot-stuffing writer, which handles the
// ~30 KB of a digest one byte at a time. Here the three commands go out
// in one write when PIPELINING is offered, and the rendered message is
// dot-stuffed with bytes.Index and written in large slices. go-mail still
// dials, says EHLO, negotiates STARTTLS and AUTH, renders the MIME
// message and signs it.

// stage is how far a transaction got.
type stage int

const (
	stageMail stage = iota // MAIL FROM
	stageRcpt              // RCPT TO
	stageData              // the DATA command, before 354
	stageBody              // the message and its final "."
	stageEnd               // after the 250: the message is the server's
)

func (s stage) String() string {
	return [...]string{"MAIL FROM", "RCPT TO", "DATA", "message data", "end of data"}[s]
}

// txError is a failed transaction: the server's reply when Code > 0, or
// the network error otherwise.
type txError struct {
	Stage stage
	Code  int
	Msg   string // the reply text, without the code
	Err   error  // the network or protocol error when Code == 0
}

func (e *txError) Error() string {
	if e.Code > 0 {
		return fmt.Sprintf("%s: %d %s", e.Stage, e.Code, e.Msg)
	}
	return fmt.Sprintf("%s: %v", e.Stage, e.Err)
}

func (e *txError) Unwrap() error { return e.Err }

// replyErr turns what textproto.Reader.ReadResponse returned into a
// txError (nil when the reply was the expected one).
func replyErr(st stage, err error) *txError {
	if err == nil {
		return nil
	}
	var pe *textproto.Error
	if errors.As(err, &pe) {
		return &txError{Stage: st, Code: pe.Code, Msg: pe.Msg}
	}
	return &txError{Stage: st, Err: err}
}

// result classifies a transaction's outcome. reply is the server's text
// after the end of data.
func txResult(reply string, err *txError) Result {
	if err == nil {
		return Result{Status: Sent, Code: 250, Reply: reply}
	}
	r := Result{Status: Temporary, Reply: err.Error(), Code: err.Code, Err: err}
	if err.Code > 0 {
		r.Enhanced = enhancedRE.FindString(err.Msg)
		if err.Code >= 500 {
			r.Status = Permanent
		}
	}
	return r
}

// envelopeOK refuses an envelope address that would break the command
// line (go-mail's own check, which we bypass).
func envelopeOK(addr string) error {
	if addr == "" || strings.ContainsAny(addr, "\r\n<>") {
		return fmt.Errorf("mail: bad envelope address %q", addr)
	}
	return nil
}

// stepwise runs one mail transaction on c without pipelining: MAIL
// FROM:<from>, RCPT TO:<to> and DATA each wait for their reply, then the
// message (dot-stuffed) and the final "." go out. On a refusal it says
// RSET so the connection can carry the next message; an error with Code
// 0 means the connection is no longer usable.
func stepwise(c *gosmtp.Client, from, to string, msg []byte) (string, *txError) {
	t := c.Text
	for _, step := range [...]struct {
		st   stage
		line string
		code int
	}{{stageMail, "MAIL FROM:<" + from + ">", 250}, {stageRcpt, "RCPT TO:<" + to + ">", 25}, {stageData, "DATA", 354}} {
		t.W.WriteString(step.line + "\r\n")
		if err := t.W.Flush(); err != nil {
			return "", &txError{Stage: step.st, Err: err}
		}
		_, _, err := t.ReadResponse(step.code)
		if e := replyErr(step.st, err); e != nil {
			if e.Code == 0 {
				return "", e
			}
			return "", reset(t, e)
		}
	}
	if err := writeDotStuffed(t.W, msg); err != nil {
		return "", &txError{Stage: stageBody, Err: err}
	}
	if err := t.W.Flush(); err != nil {
		return "", &txError{Stage: stageBody, Err: err}
	}
	_, reply, err := t.ReadResponse(250)
	if e := replyErr(stageBody, err); e != nil {
		// A refusal after the data ends the transaction: the
		// connection is ready for the next MAIL.
		return "", e
	}
	return strings.TrimSpace(reply), nil
}

// reset says RSET after a refused command and returns cause, or the
// network error of the RSET when the connection died meanwhile (then
// the cause's reply is kept in the text).
func reset(t *textproto.Conn, cause *txError) *txError {
	if cause.Code == 421 {
		return cause // the server is closing the connection
	}
	t.W.WriteString("RSET\r\n")
	err := t.W.Flush()
	if err == nil {
		_, _, err = t.ReadResponse(250)
	}
	if err != nil {
		var pe *textproto.Error
		if !errors.As(err, &pe) {
			// Keep the reply (a 550 is still a 550) but mark the
			// connection as unusable for the caller.
			cause.Err = fmt.Errorf("RSET after the refusal failed: %w", err)
		}
	}
	return cause
}

// writeDotStuffed writes msg as DATA content: a "." is doubled at the
// start of every line, the content is ended with CRLF if it does not end
// so, and the terminating ".\r\n" follows. msg must use CRLF line ends
// (every message Render makes does).
func writeDotStuffed(w io.Writer, msg []byte) error {
	if len(msg) > 0 && msg[0] == '.' {
		if _, err := w.Write([]byte{'.'}); err != nil {
			return err
		}
	}
	for {
		i := bytes.Index(msg, []byte("\n."))
		if i < 0 {
			break
		}
		// Write through the "\n.", then the extra ".".
		if _, err := w.Write(msg[:i+2]); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'.'}); err != nil {
			return err
		}
		msg = msg[i+2:]
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	end := ".\r\n"
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		end = "\r\n.\r\n"
	}
	_, err := io.WriteString(w, end)
	return err
}

// renderBufs recycles the buffers messages are rendered into (~30 KB
// each), so that a send allocates no large buffer.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
