package news

import (
	"fmt"
	"time"
)

// APIToken is a named bearer token that lets a client (the CMS) use the
// admin API. Only the SHA-256 hash of the token is kept; the token itself
// is shown once, when it is created.
type APIToken struct {
	Name      string
	Hash      []byte // SHA-256 of the token text
	CreatedAt time.Time
	RevokedAt time.Time // zero while the token is valid
}

// CheckTokenName checks an API token's name: 1 to 64 characters, letters,
// digits, '.', '_' and '-', so it is safe in logs and on a command line.
func CheckTokenName(name string) *FieldError {
	if name == "" || len(name) > 64 {
		return &FieldError{Field: "name", Msg: "want 1 to 64 characters"}
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return &FieldError{Field: "name", Msg: fmt.Sprintf("%q: only letters, digits, '.', '_' and '-' are allowed", name)}
		}
	}
	return nil
}
