package webpush

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"radiusmfa/store"
)

// SecretName is the store's server secret holding the VAPID private key: the
// raw 32-byte P-256 scalar.
const SecretName = "vapid-p256"

// SecretStore is the part of the store the VAPID keys need.
type SecretStore interface {
	ServerSecret(ctx context.Context, name string) ([]byte, error)
	PutServerSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error)
}

// VAPID is the server's application-server key pair (RFC 8292).
type VAPID struct {
	// Public is the base64url (unpadded) uncompressed P-256 point: what a
	// browser's pushManager.subscribe wants as applicationServerKey, and
	// what the push service then requires every push to be signed with.
	Public string
	// Subject is the contact the push service may use about this server's
	// traffic: a "mailto:" or "https:" URI.
	Subject string

	private *ecdsa.PrivateKey
}

// String names the key by its public half, so printing a VAPID never
// prints the private key.
func (v *VAPID) String() string {
	return fmt.Sprintf("VAPID key %s (subject %s)", v.Public, v.Subject)
}

// LoadOrCreateVAPID returns the server's VAPID key pair, generating it on
// the first run and keeping it in st (which seals it at rest). Two servers
// starting on a fresh store at once agree on one key, the one stored first:
// a key that changed would void every subscription already made.
func LoadOrCreateVAPID(ctx context.Context, st SecretStore, subject string) (*VAPID, error) {
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	raw, err := st.ServerSecret(ctx, SecretName)
	if errors.Is(err, store.ErrNotFound) {
		raw, err = createKey(ctx, st)
	}
	if err != nil {
		return nil, fmt.Errorf("webpush: VAPID key: %w", err)
	}
	defer clear(raw)
	return newVAPID(raw, subject)
}

// createKey generates a key and stores it unless another run did first,
// returning the stored scalar.
func createKey(ctx context.Context, st SecretStore) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	scalar, err := key.Bytes()
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	defer clear(scalar)
	return st.PutServerSecretIfAbsent(ctx, SecretName, scalar)
}

// newVAPID builds the key pair from the stored scalar.
func newVAPID(scalar []byte, subject string) (*VAPID, error) {
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		// The parser's error never holds the scalar, but say only what is wrong.
		return nil, fmt.Errorf("webpush: stored VAPID key (server secret %q, %d bytes) is not a P-256 private key",
			SecretName, len(scalar))
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("webpush: VAPID public key: %w", err)
	}
	return &VAPID{Public: base64.RawURLEncoding.EncodeToString(pub), Subject: subject, private: key}, nil
}

// checkSubject accepts the two contact forms RFC 8292 §2.1 names: a mailto:
// address or an https: URL.
func checkSubject(subject string) error {
	switch {
	case strings.HasPrefix(subject, "mailto:"):
		addr := strings.TrimPrefix(subject, "mailto:")
		if addr == "" || !strings.Contains(addr, "@") || strings.ContainsAny(addr, " \t\r\n") {
			return fmt.Errorf("webpush: VAPID subject %q is not a mailto: address", subject)
		}
		return nil
	case strings.HasPrefix(subject, "https:"):
		u, err := url.Parse(subject)
		if err != nil || u.Host == "" {
			return fmt.Errorf("webpush: VAPID subject %q is not an https: URL", subject)
		}
		return nil
	}
	return fmt.Errorf("webpush: VAPID subject %q must be a mailto: or https: URI", subject)
}

// libSubscriber is the subject in the form webpush-go takes: it prefixes
// "mailto:" to anything not starting with "https:", so a mailto: subject is
// passed without its scheme (or the JWT would say "mailto:mailto:…").
func libSubscriber(subject string) string {
	return strings.TrimPrefix(subject, "mailto:")
}
