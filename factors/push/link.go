package push

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"radiusmfa/store"
)

// Approval links answer the pushes of devices that cannot sign (ntfy): each
// notification carries one link per answer, and whoever POSTs a link gives
// that answer. A link is a token MAC'd with a key only the server holds:
//
//	version (1) | nonce (16) | verdict (1) | number (1) | expiry (8, unix s, big-endian) | HMAC-SHA-256 (32)
//
// in unpadded base64url (79 characters). The MAC covers linkTag and the
// bytes before it. A link names one push by its nonce; the Hub settles a
// push once, so each link, and every other link of its push, works once.

// LinkSecretName is the store's server secret holding the links' key.
const LinkSecretName = "push-link-hmac-sha256"

// linkKeyLen is the key's length: HMAC-SHA-256's block-sized strength.
const linkKeyLen = 32

const (
	linkVersion = 1
	linkTag     = "radiusmfa-push-link-v1\n"
	nonceLen    = 16
	linkBodyLen = 1 + nonceLen + 1 + 1 + 8
	linkLen     = linkBodyLen + sha256.Size
)

// Refusals of LinkKey.Verify.
var (
	ErrLinkInvalid = errors.New("push: not a valid approval link")
	ErrLinkExpired = errors.New("push: approval link expired")
)

// SecretStore is the part of the store the links' key needs.
type SecretStore interface {
	ServerSecret(ctx context.Context, name string) ([]byte, error)
	PutServerSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error)
}

// LinkKey signs and verifies approval links.
type LinkKey struct {
	key []byte
}

// NewLinkKey returns a LinkKey holding a copy of key (32 bytes).
func NewLinkKey(key []byte) (*LinkKey, error) {
	if len(key) != linkKeyLen {
		return nil, fmt.Errorf("push: link key of %d bytes (want %d)", len(key), linkKeyLen)
	}
	return &LinkKey{key: append([]byte(nil), key...)}, nil
}

// LoadOrCreateLinkKey returns the server's link key, made on first use and
// kept in st (which seals it at rest). Two servers starting on a fresh
// store agree on the one stored first.
func LoadOrCreateLinkKey(ctx context.Context, st SecretStore) (*LinkKey, error) {
	raw, err := st.ServerSecret(ctx, LinkSecretName)
	if errors.Is(err, store.ErrNotFound) {
		fresh := make([]byte, linkKeyLen)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("push: link key: %w", err)
		}
		raw, err = st.PutServerSecretIfAbsent(ctx, LinkSecretName, fresh)
		clear(fresh)
	}
	if err != nil {
		return nil, fmt.Errorf("push: link key: %w", err)
	}
	defer clear(raw)
	k, err := NewLinkKey(raw)
	if err != nil {
		return nil, fmt.Errorf("push: stored link key (server secret %q): %w", LinkSecretName, err)
	}
	return k, nil
}

// String names the key without showing it.
func (k *LinkKey) String() string { return "push link key" }

// Link is an approval link whose MAC verified and which had not expired:
// only LinkKey.Verify makes one, and the Hub settles only with one.
type Link struct {
	nonce   string
	verdict string
	number  int
	expires time.Time
}

// Verdict is the answer the link gives: AnswerApprove, AnswerDeny or
// AnswerReport.
func (l Link) Verdict() string { return l.verdict }

// Number is the number an approval picks, with number matching; else 0.
func (l Link) Number() int { return l.number }

// Expires is when the link stops working.
func (l Link) Expires() time.Time { return l.expires }

var verdictBytes = map[string]byte{AnswerApprove: 'a', AnswerDeny: 'd', AnswerReport: 'r'}

// Sign returns the link token giving verdict to the push p (with number
// matching, an approval names the number picked), valid until p expires
// (the link's expiry is rounded up to the second; the Hub refuses a push
// past its own).
func (k *LinkKey) Sign(p Pending, verdict string, number int) (string, error) {
	vb, ok := verdictBytes[verdict]
	if !ok {
		return "", ErrBadAnswer
	}
	if number != 0 && (verdict != AnswerApprove || number < MinNumber || number > MaxNumber) {
		return "", fmt.Errorf("push: link number %d for %q", number, verdict)
	}
	nonce, err := base64.RawURLEncoding.Strict().DecodeString(p.Nonce)
	if err != nil || len(nonce) != nonceLen {
		return "", errors.New("push: link for a push without a nonce of 16 bytes")
	}
	b := make([]byte, linkBodyLen, linkLen)
	b[0] = linkVersion
	copy(b[1:], nonce)
	b[1+nonceLen] = vb
	b[2+nonceLen] = byte(number)
	// Whole seconds, rounded up: the Hub holds the push's exact expiry.
	exp := p.Expires.Unix()
	if p.Expires.After(time.Unix(exp, 0)) {
		exp++
	}
	binary.BigEndian.PutUint64(b[3+nonceLen:], uint64(exp))
	b = append(b, k.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (k *LinkKey) mac(body []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(linkTag))
	m.Write(body)
	return m.Sum(nil)
}

// Invariant: a link verifies only with the server's key over every byte of
// it, compared in constant time, and only before its expiry; a changed
// nonce, verdict, number or expiry is refused. (TestLinkTampered,
// TestLinkExpired)

// Verify checks a link token at now: ErrLinkInvalid for anything not
// signed by k (or malformed), ErrLinkExpired for a link past its expiry.
func (k *LinkKey) Verify(token string, now time.Time) (Link, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(linkLen) {
		return Link{}, ErrLinkInvalid
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != linkLen {
		return Link{}, ErrLinkInvalid
	}
	body, sum := b[:linkBodyLen], b[linkBodyLen:]
	if !hmac.Equal(sum, k.mac(body)) {
		return Link{}, ErrLinkInvalid
	}
	// Signed by us: the fields are as Sign wrote them.
	if body[0] != linkVersion {
		return Link{}, ErrLinkInvalid
	}
	l := Link{nonce: base64.RawURLEncoding.EncodeToString(body[1 : 1+nonceLen]), number: int(body[2+nonceLen]),
		expires: time.Unix(int64(binary.BigEndian.Uint64(body[3+nonceLen:])), 0)}
	for w, vb := range verdictBytes {
		if body[1+nonceLen] == vb {
			l.verdict = w
		}
	}
	if l.verdict == "" {
		return Link{}, ErrLinkInvalid
	}
	if !now.Before(l.expires) {
		return Link{}, ErrLinkExpired
	}
	return l, nil
}

// BeginLinked registers a push to deviceID that is answered through
// approval links only (a device that holds no key: ntfy), as Begin does.
func (h *Hub) BeginLinked(user, deviceID string, c Context, ttl time.Duration) (*Pending, error) {
	return h.begin(user, deviceID, nil, c, ttl)
}

// Invariant: a push begun with a device key (Web Push) is settled by no
// link, whatever its MAC, and a push begun for links by no signed app
// answer; a link settles its push once. (TestLinkCannotSettleWebPush,
// TestAnswerCannotSettleLinked, TestLinkReplayed)

// LinkPending returns the push l answers, if it is still pending and is
// answered through links.
func (h *Hub) LinkPending(l Link) (Pending, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.byNonce[l.nonce]
	if l.verdict == "" || e == nil || e.signed() || !h.o.Now().Before(e.p.Expires) {
		return Pending{}, false
	}
	return e.p.clone(), true
}

// AnswerLink settles the push l answers, as Answer does for a signed
// answer, and wakes its waiter. Refused, leaving any push as it is, when no
// push answered through links is pending under l's nonce (ErrUnknown:
// never begun, a Web Push device's, already answered, or settled
// otherwise). An expired push is settled TimedOut (ErrExpired). With number
// matching, an approval naming a wrong number is Denied.
func (h *Hub) AnswerLink(l Link) (Verdict, error) {
	if l.verdict == "" {
		return 0, ErrUnknown
	}
	h.mu.Lock()
	e := h.byNonce[l.nonce]
	if e == nil || e.signed() {
		h.mu.Unlock()
		return 0, ErrUnknown
	}
	if !h.o.Now().Before(e.p.Expires) {
		events := h.settleLocked(e, TimedOut, "")
		h.mu.Unlock()
		h.emit(events)
		return 0, ErrExpired
	}
	v, reason := verdictOf(l.verdict, l.number, e.p.Context)
	events := h.settleLocked(e, v, reason)
	h.mu.Unlock()
	h.emit(events)
	return v, nil
}
