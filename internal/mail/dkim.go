package mail

import (
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"os"

	gomail "github.com/wneessen/go-mail"
)

// DKIM is a DKIM signing configuration (RSA or Ed25519 key, selector,
// domain) covering From, To, Subject, Date, Message-ID, List-Unsubscribe
// and List-Unsubscribe-Post, relaxed/relaxed canonicalization.
type DKIM struct {
	signer *gomail.DKIMSigner
	algo   string
}

// NewDKIM builds a signer from a PEM private key (PKCS#1 RSA or PKCS#8 RSA
// or Ed25519).
func NewDKIM(keyPEM []byte, domain, selector string) (*DKIM, error) {
	if domain == "" || selector == "" {
		return nil, fmt.Errorf("mail: dkim: domain and selector are required")
	}
	key, err := gomail.PrivKeyFromPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("mail: dkim key: %w", err)
	}
	algo := ""
	switch key.(type) {
	case *rsa.PrivateKey:
		algo = "rsa-sha256"
	case ed25519.PrivateKey:
		algo = "ed25519-sha256"
	}
	s := gomail.NewDKIMSigner(domain, selector, key)
	s.SignHeaders(dkimSignedHeaders...)
	if err := s.ValidateConfig(); err != nil {
		return nil, fmt.Errorf("mail: dkim: %w", err)
	}
	// go-mail's Signer picks its algorithm lazily inside Sign, writing a
	// field: signing once here makes later concurrent Sign calls read-only
	// (otherwise the first messages of parallel workers race).
	if _, err := s.Sign([]byte("From: warm@up.invalid\r\n"), []byte("\r\n")); err != nil {
		return nil, fmt.Errorf("mail: dkim: test signature: %w", err)
	}
	return &DKIM{signer: s, algo: algo}, nil
}

// LoadDKIM reads the key file and calls NewDKIM.
func LoadDKIM(keyFile, domain, selector string) (*DKIM, error) {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("mail: dkim: %w", err)
	}
	d, err := NewDKIM(b, domain, selector)
	if err != nil {
		return nil, fmt.Errorf("%w (key file %s)", err, keyFile)
	}
	return d, nil
}

// Algorithm is "rsa-sha256" or "ed25519-sha256".
func (d *DKIM) Algorithm() string { return d.algo }
