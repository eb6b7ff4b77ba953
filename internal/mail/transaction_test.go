package mail

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteDotStuffed(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"leading dot", ".a\r\nb\r\n", "..a\r\nb\r\n.\r\n"},
		{"dot lines", "a\r\n.\r\n..b\r\n.c\r\n", "a\r\n..\r\n...b\r\n..c\r\n.\r\n"},
		{"no final CRLF", "a\r\nb", "a\r\nb\r\n.\r\n"},
		{"ends in a dot line", "a\r\n.", "a\r\n..\r\n.\r\n"},
		{"empty", "", "\r\n.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeDotStuffed(&b, []byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("writeDotStuffed(%q) = %q, want %q", tt.in, b.String(), tt.want)
			}
			// net/textproto's reader undoes the stuffing (it also turns
			// CRLF into LF).
			got, err := io.ReadAll(textproto.NewReader(bufio.NewReader(&b)).DotReader())
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.in, "\r\n", "\n")
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if tt.name == "empty" {
				want = "\n"
			}
			if string(got) != want {
				t.Errorf("read back %q, want %q", got, want)
			}
		})
	}
}

// scriptServer is a bare SMTP server over TCP for the protocol corners
// go-smtp cannot play: it announces only the given extensions, answers
// each command with reply(cmd), records what it saw, and notes whether a
// command arrived with more input already behind it (pipelined).
type scriptServer struct {
	Addr  string
	mu    sync.Mutex
	cmds  []string
	piped []string // commands that arrived with further input buffered
	data  []string // message contents received
	conns int
}

func newScriptServer(t *testing.T, exts []string, reply func(cmd string) string) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{Addr: ln.Addr().String()}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c, exts, reply)
		}
	}()
	return s
}

func (s *scriptServer) serve(c net.Conn, exts []string, reply func(string) string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	tp := textproto.NewReader(r)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 script.test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.SplitN(line, ":", 2)[0])
		cmd = strings.Fields(cmd + " ")[0]
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		if r.Buffered() > 0 {
			s.piped = append(s.piped, line)
		}
		s.mu.Unlock()
		switch cmd {
		case "EHLO":
			out := "250-script.test"
			for _, e := range exts {
				out += "\r\n250-" + e
			}
			say(out + "\r\n250 HELP")
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		case "DATA":
			rep := reply(line)
			say(rep)
			if !strings.HasPrefix(rep, "354") {
				continue
			}
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			s.mu.Lock()
			s.data = append(s.data, string(b))
			if r.Buffered() > 0 {
				s.piped = append(s.piped, ".")
			}
			s.mu.Unlock()
			say(reply("."))
		default:
			say(reply(line))
		}
	}
}

func (s *scriptServer) seen() (cmds, piped, data []string, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...), append([]string(nil), s.piped...), append([]string(nil), s.data...), s.conns
}

func scriptSender(t *testing.T, s *scriptServer) *SMTP {
	t.Helper()
	e, err := ParseURL("smtp://" + s.Addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewSMTP(SMTPOptions{Endpoint: e, Workers: 1, Timeout: 5 * time.Second, HELO: "sender.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snd.Close() })
	return snd
}

func okReply(cmd string) string {
	switch {
	case strings.HasPrefix(cmd, "DATA"):
		return "354 go ahead"
	case cmd == ".":
		return "250 2.0.0 queued as X1"
	}
	return "250 2.0.0 ok"
}

// Without PIPELINING every command waits for its reply.
func TestSMTPWithoutPipelining(t *testing.T) {
	srv := newScriptServer(t, []string{"8BITMIME", "ENHANCEDSTATUSCODES"}, okReply)
	snd := scriptSender(t, srv)
	for i := range 3 {
		m := readerMessage(i)
		m.Text = ".starts with a dot\n.\nand a dot line\n"
		if r := snd.Send(context.Background(), m); r.Status != Sent || r.Reply != "2.0.0 queued as X1" {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	cmds, piped, data, conns := srv.seen()
	if len(piped) != 0 {
		t.Errorf("commands pipelined to a server without PIPELINING: %q", piped)
	}
	if conns != 1 || len(data) != 3 {
		t.Fatalf("server saw %d connections and %d messages, want 1 and 3", conns, len(data))
	}
	wantCmds := []string{"EHLO sender.test"}
	for i := range 3 {
		wantCmds = append(wantCmds, "MAIL FROM:<bounces+t"+string(rune('0'+i))+"@news.example>",
			"RCPT TO:<reader"+string(rune('0'+i))+"@reader.example>", "DATA")
	}
	if diff := cmp.Diff(wantCmds, cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	// The message as received parses, and the dot lines of the text
	// survived the stuffing.
	msg, err := netmail.ReadMessage(strings.NewReader(data[2]))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Message-Id"); got != "<digest.2017-01-29.2@news.example>" {
		t.Errorf("Message-ID = %q", got)
	}
	body, _ := io.ReadAll(msg.Body)
	// (Quoted-printable leaves a leading dot alone: only the stuffing
	// protects it.)
	if want := "\n.starts with a dot\n.\nand a dot line\n"; !strings.Contains(strings.ReplaceAll(string(body), "\r\n", "\n"), want) {
		t.Errorf("received body lacks %q:\n%s", want, body)
	}
}

// With PIPELINING, MAIL, RCPT and DATA go out together; a server that
// refuses the recipient but still answers 354 to DATA (against RFC 2920)
// gets an empty message and a RSET, and the connection carries on.
func TestSMTPPipelinedRefusalThen354(t *testing.T) {
	srv := newScriptServer(t, []string{"PIPELINING", "ENHANCEDSTATUSCODES"}, func(cmd string) string {
		if strings.HasPrefix(cmd, "RCPT TO:<gone@") {
			return "550 5.1.1 no such user"
		}
		return okReply(cmd)
	})
	snd := scriptSender(t, srv)
	m := readerMessage(1)
	m.To = &netmail.Address{Address: "gone@reader.example"}
	r := snd.Send(context.Background(), m)
	if r.Status != Permanent || r.Code != 550 || r.Enhanced != "5.1.1" || !r.NoSuchUser() {
		t.Errorf("refused recipient: %+v, want permanent 550 5.1.1", r)
	}
	if r := snd.Send(context.Background(), readerMessage(2)); r.Status != Sent {
		t.Errorf("next message on the same connection: %+v", r)
	}
	cmds, piped, data, conns := srv.seen()
	if conns != 1 {
		t.Errorf("server saw %d connections, want 1", conns)
	}
	wantPiped := []string{"MAIL FROM:<bounces+t1@news.example>", "RCPT TO:<gone@reader.example>",
		".", // the empty message's end, with the RSET behind it
		"MAIL FROM:<bounces+t2@news.example>", "RCPT TO:<reader2@reader.example>"}
	if diff := cmp.Diff(wantPiped, piped); diff != "" {
		t.Errorf("pipelined commands (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(cmds, "|"), "DATA|RSET|MAIL") {
		t.Errorf("no RSET after the refused transaction: %q", cmds)
	}
	if len(data) != 2 || data[0] != "" || !strings.Contains(data[1], "reader2@reader.example") {
		t.Errorf("messages received = %q, want an empty one then reader2's", data)
	}
}
