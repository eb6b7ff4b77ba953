package mail

import (
	"bytes"
	"context"
	"net"
)

// batchConn holds what is written until the next read, then sends it in
// one write. SMTP without pipelining alternates "write a command (or a
// whole message body), read the reply"; go-mail's writer flushes every
// 4 KiB, so a 30 KB digest would otherwise cost a system call (and a
// wake-up of the server) per 4 KiB.
type batchConn struct {
	net.Conn
	buf bytes.Buffer
}

// batchLimit bounds the buffer: past it, writes go out at once.
const batchLimit = 256 << 10

func (c *batchConn) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > batchLimit {
		if err := c.flush(); err != nil {
			return 0, err
		}
		if len(p) > batchLimit {
			return c.Conn.Write(p)
		}
	}
	return c.buf.Write(p)
}

func (c *batchConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *batchConn) Close() error {
	_ = c.flush()
	return c.Conn.Close()
}

func (c *batchConn) flush() error {
	if c.buf.Len() == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf.Bytes())
	c.buf.Reset()
	return err
}

// dialSlot receives the connection dialBatched opened, so that the
// caller can close it when go-mail gives up later in the dial (HELO,
// STARTTLS or AUTH failing): go-mail v0.8.1 returns without closing it.
type dialSlot struct{ conn net.Conn }

type dialSlotKey struct{}

// dialBatched dials a plain TCP connection wrapped in a batchConn.
func dialBatched(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	bc := &batchConn{Conn: c}
	if slot, ok := ctx.Value(dialSlotKey{}).(*dialSlot); ok {
		slot.conn = bc
	}
	return bc, nil
}
