// Package totp is the time-based one-time password factor (RFC 6238);
// enrollment uses github.com/pquerna/otp. Each accepted code advances the enrollment's
// counter to its time step in the store, atomically, so a code is accepted
// once: a replay is refused even after a restart.
package totp

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// Kind is the enrollment kind handled by this factor.
const Kind = "totp"

// DefaultPeriod is the RFC 6238 time step, in seconds.
const DefaultPeriod = 30

// CounterStore is the part of the store the factor needs.
type CounterStore interface {
	AdvanceCounter(ctx context.Context, user, id string, c uint64, at time.Time) error
}

// Options tune verification.
type Options struct {
	Skew int              // steps accepted either side of now
	Now  func() time.Time // nil: time.Now
}

// Factor verifies TOTP codes.
type Factor struct {
	store CounterStore
	skew  int
	now   func() time.Time
}

var _ factors.Factor = (*Factor)(nil)

// New returns a TOTP factor backed by s.
func New(s CounterStore, o Options) *Factor {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Factor{store: s, skew: max(o.Skew, 0), now: now}
}

// Kind implements factors.Factor.
func (*Factor) Kind() string { return Kind }

// Verify implements factors.Factor. Every step in the window is computed and
// compared in constant time, so the time taken does not depend on which step
// (if any) matched.
func (f *Factor) Verify(ctx context.Context, e store.Enrollment, code string) error {
	now := f.now()
	matched, found, err := Match(e, code, now, f.skew)
	if err != nil {
		return err
	}
	if !found {
		return factors.ErrInvalidCode
	}
	if matched <= e.Counter {
		return factors.ErrReplayed
	}
	switch err := f.store.AdvanceCounter(ctx, e.User, e.ID, matched, now); {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrReplay):
		return factors.ErrReplayed
	default:
		return fmt.Errorf("totp: advance counter: %w", err)
	}
}

// Match reports whether code is e's code for a time step within skew steps
// of now, and which step; it reads and writes nothing (an enrollment being
// confirmed is not stored yet). Every step in the window is computed and
// compared in constant time.
func Match(e store.Enrollment, code string, now time.Time, skew int) (step uint64, ok bool, err error) {
	if e.Kind != Kind || e.Disabled {
		return 0, false, nil
	}
	digits := e.Digits
	if digits == 0 {
		digits = 6
	}
	if !factors.IsDigits(code, digits) {
		return 0, false, nil
	}
	period := e.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	newHash, err := validateOpts(digits, e.Algorithm)
	if err != nil {
		return 0, false, err
	}
	// One keyed MAC for the whole window, reset between steps.
	mac := hmac.New(newHash, e.Secret)
	step = uint64(now.Unix()) / uint64(period)

	var matched uint64
	found := 0
	var sum [sha512.Size]byte
	var want [8]byte
	for d := -skew; d <= skew; d++ {
		s := int64(step) + int64(d)
		if s < 0 {
			continue
		}
		mac.Reset()
		w := hotpCode(mac, uint64(s), digits, sum[:0], want[:digits])
		eq := subtle.ConstantTimeCompare(w, []byte(code))
		// No early exit: every step costs the same whether or not it matches.
		if eq == 1 {
			matched = uint64(s)
			found = 1
		}
	}
	return matched, found == 1, nil
}

// ParseAlgorithm maps a configured name (case-insensitive) to otp's type.
func ParseAlgorithm(name string) (otp.Algorithm, error) {
	switch strings.ToUpper(name) {
	case "", "SHA1":
		return otp.AlgorithmSHA1, nil
	case "SHA256":
		return otp.AlgorithmSHA256, nil
	case "SHA512":
		return otp.AlgorithmSHA512, nil
	}
	return 0, fmt.Errorf("totp: unsupported algorithm %q (want SHA1, SHA256 or SHA512)", name)
}

// validateOpts checks digits and returns the HMAC hash of algorithm.
func validateOpts(digits int, algorithm string) (func() hash.Hash, error) {
	alg, err := ParseAlgorithm(algorithm)
	if err != nil {
		return nil, err
	}
	if digits != 6 && digits != 8 {
		return nil, fmt.Errorf("totp: unsupported digits %d (want 6 or 8)", digits)
	}
	switch alg {
	case otp.AlgorithmSHA256:
		return sha256.New, nil
	case otp.AlgorithmSHA512:
		return sha512.New, nil
	default:
		return sha1.New, nil
	}
}

// hotpCode writes the RFC 4226 code of counter into out (len(out) digits,
// zero-padded) using mac, a freshly reset HMAC keyed with the seed; sum is
// scratch space for the MAC. It returns out.
func hotpCode(mac hash.Hash, counter uint64, digits int, sum, out []byte) []byte {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum = mac.Sum(sum)
	// Dynamic truncation (RFC 4226 §5.3).
	off := sum[len(sum)-1] & 0xf
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
}
