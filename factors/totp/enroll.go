package totp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"radiusmfa/store"
)

// SecretSize is the seed length in bytes: 160 bits, as RFC 4226 recommends.
const SecretSize = 20

// EnrollOptions describe a new TOTP device.
type EnrollOptions struct {
	Issuer    string
	Label     string
	Digits    int    // 6 or 8
	Algorithm string // SHA1, SHA256, SHA512
	Rand      io.Reader
	Now       time.Time
}

// Provisioning is what a user needs to load the seed into an app.
type Provisioning struct {
	Enrollment store.Enrollment
	Secret     string // base32, unpadded
	URI        string // otpauth://totp/...
}

// NewEnrollment makes a fresh seed for user and its provisioning URI. The
// caller stores Enrollment; Secret and URI are shown to the user once.
func NewEnrollment(user string, o EnrollOptions) (Provisioning, error) {
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	alg, err := ParseAlgorithm(o.Algorithm)
	if err != nil {
		return Provisioning{}, err
	}
	digits := o.Digits
	if digits == 0 {
		digits = 6
	}
	if digits != 6 && digits != 8 {
		return Provisioning{}, fmt.Errorf("totp: unsupported digits %d (want 6 or 8)", digits)
	}
	seed := make([]byte, SecretSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return Provisioning{}, fmt.Errorf("totp: random seed: %w", err)
	}
	var idb [8]byte
	if _, err := io.ReadFull(r, idb[:]); err != nil {
		return Provisioning{}, fmt.Errorf("totp: random id: %w", err)
	}
	issuer := o.Issuer
	if issuer == "" {
		issuer = "radiusmfa"
	}
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{
		Issuer: issuer, AccountName: user, Period: DefaultPeriod,
		Secret: seed, Digits: otp.Digits(digits), Algorithm: alg,
	})
	if err != nil {
		return Provisioning{}, fmt.Errorf("totp: key: %w", err)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	label := o.Label
	if label == "" {
		label = "authenticator app"
	}
	e := store.Enrollment{
		ID: hex.EncodeToString(idb[:]), User: user, Kind: Kind, Label: label,
		Secret: seed, Digits: digits, Algorithm: alg.String(), Period: DefaultPeriod,
		CreatedAt: now.UTC(),
	}
	return Provisioning{Enrollment: e, Secret: key.Secret(), URI: key.URL()}, nil
}
