package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// SendBatch sends msgs in order over one pooled connection and returns
// their results, in order. When the context ends it stops starting new
// messages, finishes those under way, and returns the results of a
// prefix of msgs: the messages beyond it were not attempted.
//
// On a server that offers PIPELINING (RFC 2920) each message costs one
// round trip: the end of one message's data goes out in the same write
// as the next message's MAIL, RCPT and DATA commands ("the transfer of
// message content is explicitly allowed to be the first command in a
// group"). The rules of Send hold for each message: one that failed
// without a reply before its data was written is retried once on a fresh
// connection; one whose data was written but whose reply never came is
// Temporary without a reply code.
func (s *SMTP) SendBatch(ctx context.Context, msgs []*Message) []Result {
	res, _ := s.sendBatch(ctx, msgs)
	return res
}

// Send delivers m over one of the pooled connections (a batch of one).
func (s *SMTP) Send(ctx context.Context, m *Message) Result {
	res, err := s.sendBatch(ctx, []*Message{m})
	if len(res) == 1 {
		return res[0]
	}
	return Result{Status: Temporary, Reply: err.Error(), Err: err}
}

// batch is the state of one SendBatch call.
type batch struct {
	s       *SMTP
	msgs    []*Message
	res     []Result
	from    []string // envelope senders, filled when rendered
	retried []bool   // retried once after losing a connection before the data
	next    int      // the first message not yet started
	stop    error    // why the batch stopped early (the context)
	bufs    [2]*bytes.Buffer
}

func (s *SMTP) sendBatch(ctx context.Context, msgs []*Message) ([]Result, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	var cn *conn
	select {
	case cn = <-s.pool:
	case <-ctx.Done():
		return nil, fmt.Errorf("mail: smtp: waiting for a connection: %w", ctx.Err())
	}
	defer func() { s.pool <- cn }()
	b := &batch{s: s, msgs: msgs, res: make([]Result, len(msgs)), from: make([]string, len(msgs)),
		retried: make([]bool, len(msgs))}
	for i := range b.bufs {
		b.bufs[i] = renderBufs.Get().(*bytes.Buffer)
		defer renderBufs.Put(b.bufs[i])
	}
	for b.next < len(msgs) && b.stop == nil {
		if cn.c == nil {
			if err := s.dial(ctx, cn); err != nil {
				// Even a 5xx here (AUTH refused) is the relay's or the
				// configuration's problem, not the reader's: defer.
				err = fmt.Errorf("mail: smtp: connect %s:%d: %w", s.opts.Endpoint.Host, s.opts.Endpoint.Port, err)
				for ; b.next < len(msgs); b.next++ {
					b.res[b.next] = Result{Status: Temporary, Reply: err.Error(), Code: replyCode(err.Error()), Err: err}
				}
				break
			}
		}
		if cn.pipelining {
			b.pipelined(ctx, cn)
		} else {
			b.stepwise(ctx, cn)
		}
	}
	return b.res[:b.next], b.stop
}

// start readies message b.next: it renders it into buf and takes a rate
// token. It reports false when there is nothing more to start now (all
// started, or the context ended); a message that cannot be rendered gets
// its Permanent result and is skipped.
func (b *batch) start(ctx context.Context, buf *bytes.Buffer) bool {
	for b.next < len(b.msgs) {
		if err := ctx.Err(); err != nil {
			b.stop = err
			return false
		}
		i := b.next
		from, err := b.s.render(b.msgs[i], buf)
		if err != nil {
			b.res[i] = Result{Status: Permanent, Reply: err.Error(), Err: err}
			b.next++
			continue
		}
		b.from[i] = from
		if l := b.s.limiter; l != nil {
			if err := l.Wait(ctx); err != nil {
				b.stop = fmt.Errorf("mail: smtp: rate limit: %w", err)
				return false
			}
		}
		return true
	}
	return false
}

// finish records message i's outcome.
func (b *batch) finish(i int, reply string, e *txError) {
	r := txResult(reply, e)
	if r.Status != Sent {
		m := b.msgs[i]
		r.Err = fmt.Errorf("mail: smtp: send %s to %s: %w", m.MessageID, m.To.Address, r.Err)
	}
	b.res[i] = r
}

// lost handles a connection that died (or is closing) while message i
// had not had its data written: it is retried once on a fresh
// connection, and otherwise fails with e.
func (b *batch) lost(i int, e *txError) {
	if e.Code == 0 && !b.retried[i] {
		b.retried[i] = true
		b.s.opts.Logger.Debug("SMTP connection lost before the message data; redialing", "error", e)
		b.next = i
		return
	}
	b.finish(i, "", e)
}

// stepwise sends the batch one command at a time (a server without
// PIPELINING) until it is done or the connection is lost or recycled.
func (b *batch) stepwise(ctx context.Context, cn *conn) {
	s := b.s
	for cn.used < s.opts.Recycle && b.start(ctx, b.bufs[0]) {
		i := b.next
		b.next++
		var reply string
		var e *txError
		if err := cn.c.UpdateDeadline(s.opts.Timeout); err != nil {
			e = &txError{Stage: stageMail, Err: err}
		} else {
			reply, e = stepwise(cn.c, b.from[i], b.msgs[i].To.Address, b.bufs[0].Bytes())
		}
		if e != nil && (e.Code == 0 || e.Code == 421 || e.Err != nil) {
			// No reply, "closing channel", or a failed RSET: this
			// connection is done.
			s.drop(cn, false)
			if e.Stage < stageBody {
				b.lost(i, e)
			} else {
				b.finish(i, "", e)
			}
			return
		}
		cn.used++
		b.finish(i, reply, e)
	}
	if cn.used >= s.opts.Recycle {
		s.drop(cn, true)
	}
}

// pipelined sends the batch in rounds, one write and one read each: the
// data of the message whose DATA was accepted in the previous round, a
// RSET if the previous transaction was refused, and the next message's
// MAIL, RCPT and DATA. It returns when the batch is done or the
// connection is lost or recycled.
func (b *batch) pipelined(ctx context.Context, cn *conn) {
	s := b.s
	t := cn.c.Text
	pend := -1         // the message whose 354 came in the last round
	pendEmpty := false // its DATA was accepted after a refusal: send only "."
	cur := 0           // which of b.bufs the next message is rendered into
	for {
		next := -1
		startNext := cn.used < s.opts.Recycle
		if pend >= 0 && s.limiter != nil && s.limiter.Tokens() < 1 {
			// Waiting for the next token would hold pend's data (the
			// server waits for it after its 354): send it alone first.
			startNext = false
		}
		if startNext && b.start(ctx, b.bufs[cur]) {
			next = b.next
			b.next++
		}
		if pend < 0 && next < 0 {
			break
		}
		if err := cn.c.UpdateDeadline(s.opts.Timeout); err != nil {
			b.dead(cn, pend, next, &txError{Stage: stageMail, Err: err})
			return
		}
		if pend >= 0 {
			var err error
			if pendEmpty {
				_, err = t.W.WriteString(".\r\n")
			} else {
				err = writeDotStuffed(t.W, b.bufs[1-cur].Bytes())
			}
			if err != nil {
				b.dead(cn, pend, next, &txError{Stage: stageBody, Err: err})
				return
			}
		}
		if cn.dirty {
			t.W.WriteString("RSET\r\n")
		}
		if next >= 0 {
			t.W.WriteString("MAIL FROM:<" + b.from[next] + ">\r\nRCPT TO:<" + b.msgs[next].To.Address + ">\r\nDATA\r\n")
			cn.used++
		}
		if err := t.W.Flush(); err != nil {
			b.dead(cn, pend, next, &txError{Stage: stageBody, Err: err})
			return
		}

		// The replies, in the order of the commands.
		if pend >= 0 {
			_, reply, err := t.ReadResponse(250)
			e := replyErr(stageBody, err)
			if !pendEmpty {
				b.finish(pend, strings.TrimSpace(reply), e)
			}
			if e != nil && (e.Code == 0 || e.Code == 421) {
				if pendEmpty {
					b.finish(pend, "", e) // replaces the refusal: the connection went
				}
				// next's commands are unanswered: retry it elsewhere.
				b.dead(cn, -1, next, &txError{Stage: stageMail, Err: fmt.Errorf("connection lost after the previous message: %v", e)})
				return
			}
			pend, pendEmpty = -1, false
		}
		if cn.dirty {
			_, _, err := t.ReadResponse(250)
			if err != nil {
				// A RSET refused or unanswered: start afresh.
				b.dead(cn, -1, next, &txError{Stage: stageMail, Err: fmt.Errorf("RSET: %w", err)})
				return
			}
			cn.dirty = false
		}
		if next < 0 {
			continue
		}
		var first *txError
		accepted := false
		for _, step := range [...]struct {
			st   stage
			code int
		}{{stageMail, 250}, {stageRcpt, 25}, {stageData, 354}} {
			_, _, err := t.ReadResponse(step.code)
			e := replyErr(step.st, err)
			if e != nil && (e.Code == 0 || e.Code == 421) {
				b.dead(cn, -1, next, e)
				return
			}
			if first == nil {
				first = e
			}
			accepted = step.st == stageData && e == nil
		}
		switch {
		case first == nil:
			pend, cur = next, 1-cur
		case accepted:
			// A server that answered 354 although MAIL or RCPT failed
			// (against RFC 2920): end the empty message it now expects.
			b.finish(next, "", first)
			pend, pendEmpty, cn.dirty = next, true, true
		default:
			b.finish(next, "", first)
			cn.dirty = true
		}
	}
	if cn.used >= s.opts.Recycle {
		s.drop(cn, true)
	}
}

// dead closes a connection that failed or is closing. pend (if >= 0)
// had its data written: it fails with e, as nobody knows whether the
// server kept it. next (if >= 0) had not: it is retried or fails.
func (b *batch) dead(cn *conn, pend, next int, e *txError) {
	b.s.drop(cn, false)
	if pend >= 0 {
		pe := *e
		if pe.Stage < stageBody {
			pe.Stage = stageBody
		}
		b.finish(pend, "", &pe)
	}
	if next >= 0 {
		ne := *e
		if ne.Stage >= stageBody {
			// The round died before next's commands were answered.
			ne.Stage = stageMail
		}
		b.lost(next, &ne)
	}
}

// render writes m, DKIM-signed when configured, into buf and returns its
// envelope sender.
func (s *SMTP) render(m *Message, buf *bytes.Buffer) (string, error) {
	buf.Reset()
	msg, err := m.build(s.opts.Now())
	if err != nil {
		return "", err
	}
	from := m.EnvelopeFrom
	if from == "" {
		from = m.From.Address
	}
	if err := errors.Join(envelopeOK(from), envelopeOK(m.To.Address)); err != nil {
		return "", err
	}
	if s.opts.DKIM != nil {
		msg.SetDKIM(s.opts.DKIM.signer)
	}
	if _, err := msg.WriteTo(buf); err != nil {
		return "", fmt.Errorf("mail: render %s: %w", m.MessageID, err)
	}
	return from, nil
}
