package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pressroom/pressroom/digest"
	pmail "github.com/pressroom/pressroom/internal/mail"
	"github.com/pressroom/pressroom/internal/news"
	"github.com/pressroom/pressroom/internal/store"
)

func cmdBouncesImport(ctx context.Context, e *env, args []string) (err error) {
	cf := e.newFlags("bounces import", "[flags] FILE|DIR...", `
Read bounce reports (RFC 3464 delivery status notifications) and spam
complaints (RFC 5965 feedback reports) from .eml files, folders of them,
or a maildir (its new/ and cur/ folders), match each to the digest
delivery it is about, and apply it:

  hard bounce (5.1.x, 5.2.1)  delivery failed, subscriber bounced
  other failure               delivery failed; the third such bounce in a
                              row marks the subscriber bounced
  delay notice                recorded only (the relay is still trying)
  complaint                   subscriber complained, never mailed again

A report is matched by the VERP token of the bounce address
(--envelope-from, as used when sending) or by the Message-ID of the
returned message. Both carry a tag signed with the server secret
(--secret or the database's, as when sending): a report whose token or
Message-ID does not verify is a forgery, and is skipped. Reports are recorded once: importing the same mailbox
again changes nothing. Messages that are not reports, or that match no
delivery, are listed and skipped.`)
	envelopeFrom := cf.String("envelope-from", "", "the VERP bounce address `PATTERN` used when sending, e.g. bounces+{token}@news.example (env PRESSROOM_ENVELOPE_FROM)")
	pos, err := e.parse(cf, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cf.usageErrorf("give at least one FILE or DIR")
	}
	pattern := *envelopeFrom
	if pattern == "" {
		pattern, _ = e.lookupEnv("PRESSROOM_ENVELOPE_FROM")
	}
	var files []string
	for _, p := range pos {
		fs, err := reportFiles(p)
		if err != nil {
			return err
		}
		files = append(files, fs...)
	}
	db, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	// The secret the tokens were signed with when sending.
	signer, err := linkSigner(ctx, e, db)
	if err != nil {
		return err
	}

	counts := map[string]int{}
	var changed []string
	for _, f := range files {
		kind, outs, err := importReport(ctx, e, db, signer, f, pattern)
		if err != nil {
			var skip *skipError
			if errors.As(err, &skip) {
				counts["skipped"]++
				fmt.Fprintf(e.stderr, "%s: skipped: %s\n", f, skip.reason)
				continue
			}
			return err
		}
		for _, out := range outs {
			if out.Duplicate {
				counts["already recorded"]++
				continue
			}
			counts[string(kind)]++
			if out.NewStatus != "" {
				changed = append(changed, fmt.Sprintf("%s -> %s", out.Email, out.NewStatus))
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	fmt.Fprintf(e.stdout, "%d files: %s\n", len(files), strings.Join(parts, ", "))
	for _, c := range changed {
		fmt.Fprintf(e.stdout, "  %s\n", c)
	}
	return nil
}

// skipError is a message that is not a report or matches no delivery.
type skipError struct{ reason string }

func (s *skipError) Error() string { return s.reason }

// reportFiles lists the message files under p: p itself, a maildir's
// new/ and cur/, or the regular files of a folder, sorted.
func reportFiles(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("bounces import: %w", err)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	dirs := []string{p}
	if st, err := os.Stat(filepath.Join(p, "cur")); err == nil && st.IsDir() {
		dirs = []string{filepath.Join(p, "new"), filepath.Join(p, "cur")}
	}
	var out []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bounces import: %w", err)
		}
		for _, en := range entries {
			if en.Type().IsRegular() && !strings.HasPrefix(en.Name(), ".") {
				out = append(out, filepath.Join(d, en.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// importReport parses one file and records what it reports.
func importReport(ctx context.Context, e *env, db *store.DB, signer *news.TokenSigner, file, pattern string) (news.BounceKind, []news.BounceOutcome, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("bounces import: %w", err)
	}
	rep, err := pmail.ParseReport(bytes.NewReader(raw))
	if errors.Is(err, pmail.ErrNotReport) {
		return "", nil, &skipError{reason: "not a bounce or complaint report"}
	}
	if err != nil {
		return "", nil, &skipError{reason: err.Error()}
	}
	deliveryID, err := matchDelivery(ctx, db, signer, rep, pattern)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	key := hex.EncodeToString(sum[:16])
	now := e.now()
	var events []news.BounceEvent
	switch rep.Kind {
	case pmail.KindComplaint:
		events = append(events, news.BounceEvent{DeliveryID: deliveryID, Kind: news.BounceComplaint, Diagnostic: rep.FeedbackType, Source: file, At: now})
	default:
		for _, r := range rep.Recipients {
			ev := news.BounceEvent{DeliveryID: deliveryID, Status: r.Status, Diagnostic: r.Diagnostic, Source: file, At: now}
			switch {
			case r.Hard():
				ev.Kind = news.BounceHard
			case r.Failed():
				ev.Kind = news.BounceSoft
			case r.Action == "delayed":
				ev.Kind = news.BounceDelayed
			default:
				continue // delivered, relayed, expanded: nothing to do
			}
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		return "", nil, &skipError{reason: "report says the message was delivered"}
	}
	var outs []news.BounceOutcome
	for i, ev := range events {
		out, err := db.RecordBounce(ctx, ev, key+"/"+strconv.Itoa(i))
		if err != nil {
			return "", nil, fmt.Errorf("bounces import: %s: %w", file, err)
		}
		if out.NewStatus != "" {
			e.logger.Info("Subscriber status changed by mail feedback", "email", out.Email, "status", out.NewStatus, "file", file)
		}
		outs = append(outs, out)
	}
	return events[len(events)-1].Kind, outs, nil
}

// matchDelivery finds the delivery a report is about: by the signed VERP
// token of an address it was sent to, or by the signed Message-ID of the
// returned message. Anyone can send a report to the bounce mailbox, so
// both carry a tag made with the server secret: a report whose token or
// Message-ID tag does not verify is skipped and changes nothing.
func matchDelivery(ctx context.Context, db *store.DB, signer *news.TokenSigner, rep *pmail.Report, pattern string) (int64, error) {
	var forged []string
	if pattern != "" {
		cands := append([]string{}, rep.Addressed...)
		if rep.OriginalEnvelopeFrom != "" {
			cands = append(cands, rep.OriginalEnvelopeFrom)
		}
		for _, a := range cands {
			tok, ok := pmail.VERPToken(pattern, a)
			if !ok {
				continue
			}
			id, err := signer.VerifyDeliveryToken(tok)
			if err != nil {
				forged = append(forged, a)
				continue
			}
			did, _, err := db.FindDelivery(ctx, id, "", 0)
			if err == nil {
				return did, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return 0, err
			}
		}
	}
	if len(forged) > 0 {
		return 0, &skipError{reason: fmt.Sprintf("token not valid (bounce address %s): not a bounce of ours, or sent before tokens were signed",
			strings.Join(forged, ", "))}
	}
	if date, sub, tag, ok := digest.ParseMessageID(rep.OriginalMessageID); ok {
		if !signer.VerifyMessageTag(date, sub, tag) {
			return 0, &skipError{reason: fmt.Sprintf("Message-ID %q not valid: its tag is not ours", rep.OriginalMessageID)}
		}
		did, _, err := db.FindDelivery(ctx, 0, date, sub)
		if err == nil {
			return did, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	return 0, &skipError{reason: fmt.Sprintf("matches no delivery (addressed to %s, Message-ID %q)",
		strings.Join(rep.Addressed, ", "), rep.OriginalMessageID)}
}
