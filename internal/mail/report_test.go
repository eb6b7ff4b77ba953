package mail

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReport(t *testing.T) {
	tests := []struct {
		file string
		want Report
		hard []bool
	}{
		{file: "dsn-hard.eml", want: Report{
			Kind:                 KindDSN,
			Addressed:            []string{"bounces+d42-9f3a@news.example"},
			OriginalMessageID:    "digest.2017-01-29.s42@news.example",
			OriginalEnvelopeFrom: "bounces+d42-9f3a@news.example",
			Recipients: []DSNRecipient{{
				FinalRecipient: "gone@reader.example", OriginalRecipient: "gone@reader.example",
				Action: "failed", Status: "5.1.1",
				Diagnostic: "smtp; 550 5.1.1 <gone@reader.example>: Recipient address rejected: User unknown in local recipient table",
			}},
		}, hard: []bool{true}},
		{file: "dsn-delayed.eml", want: Report{
			Kind:              KindDSN,
			Addressed:         []string{"bounces@news.example"},
			OriginalMessageID: "digest.2017-01-29.s77@news.example",
			Recipients: []DSNRecipient{{
				FinalRecipient: "full@reader.example", Action: "delayed", Status: "4.2.2",
				Diagnostic: "smtp; 452 4.2.2 Mailbox full",
			}},
		}, hard: []bool{false}},
		{file: "arf-abuse.eml", want: Report{
			Kind:                 KindComplaint,
			Addressed:            []string{"abuse@news.example"},
			OriginalMessageID:    "digest.2017-01-29.s99@news.example",
			OriginalEnvelopeFrom: "bounces+d99-77aa@news.example",
			FeedbackType:         "abuse",
			OriginalRecipient:    "annoyed@reader.example",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseReport(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("ParseReport(%s) (-want +got):\n%s", tt.file, diff)
			}
			for i, r := range got.Recipients {
				if r.Hard() != tt.hard[i] {
					t.Errorf("recipient %d Hard() = %v, want %v", i, r.Hard(), tt.hard[i])
				}
			}
		})
	}
}

func TestParseReportRejectsOrdinaryMail(t *testing.T) {
	for name, raw := range map[string]string{
		"plain":        "From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n",
		"other report": "From: a@b.example\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n--x--\r\n",
		"no status":    "From: a@b.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--x--\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseReport(strings.NewReader(raw)); !errors.Is(err, ErrNotReport) {
				t.Errorf("ParseReport() error = %v, want ErrNotReport", err)
			}
		})
	}
}
