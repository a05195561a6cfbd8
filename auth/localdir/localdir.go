// Package localdir is the built-in user directory, the embedded default
// primary authenticator: users and argon2id password hashes kept in the
// store. The number of hashes computed at once is bounded, so a login flood
// queues (and is dropped at its deadline) instead of exhausting memory.
package localdir

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// UserStore is the part of the store the directory uses.
type UserStore interface {
	GetUser(ctx context.Context, name string) (store.User, error)
	UpdateUser(ctx context.Context, name string, fn func(*store.User) error) error
}

// Directory implements auth.Authenticator over the store.
type Directory struct {
	users  UserStore
	params Params
	sem    chan struct{}
	verify func(encoded, password string) (bool, error) // VerifyPassword; tests count calls
	// decoy is verified for unknown users and users without a password, so
	// they cost the same argon2id work as a wrong password.
	decoy string
}

var _ auth.RecordAuthenticator = (*Directory)(nil)

// New returns a directory that hashes with p and computes at most
// maxConcurrent hashes at once.
func New(users UserStore, p Params, maxConcurrent int) (*Directory, error) {
	if maxConcurrent < 1 {
		return nil, fmt.Errorf("localdir: max concurrent hashes must be at least 1, got %d", maxConcurrent)
	}
	var pw [16]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	decoy, err := HashPassword(string(pw[:]), p, nil)
	if err != nil {
		return nil, err
	}
	return &Directory{users: users, params: p, sem: make(chan struct{}, maxConcurrent),
		verify: VerifyPassword, decoy: decoy}, nil
}

// Authenticate implements auth.Authenticator. A wrong password and an unknown
// user both return ok=false after one argon2id computation.
func (d *Directory) Authenticate(ctx context.Context, name, password string) (auth.Identity, bool, error) {
	u, err := d.users.GetUser(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return auth.Identity{}, false, fmt.Errorf("localdir: %w", err)
	}
	return d.AuthenticateRecord(ctx, name, password, u, known)
}

// AuthenticateRecord implements auth.RecordAuthenticator: Authenticate on a
// record the caller has already read (known=false: no such user). It does
// the same single argon2id computation on every path.
func (d *Directory) AuthenticateRecord(ctx context.Context, name, password string, u store.User, known bool) (auth.Identity, bool, error) {
	hash := u.PasswordHash
	if !known || hash == "" {
		hash = d.decoy
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return auth.Identity{}, false, fmt.Errorf("localdir: waiting for a hash slot: %w", auth.ErrOverloaded)
	}
	match, err := d.verify(hash, password)
	<-d.sem
	if err != nil {
		return auth.Identity{}, false, fmt.Errorf("localdir: user %q: %w", name, err)
	}
	if !known || u.PasswordHash == "" {
		return auth.Identity{}, false, nil
	}
	// A built-in user's roles act as their groups: for the group policy,
	// enforcement settings and the console.
	id := auth.Identity{Name: u.Name, Groups: slices.Clone(u.Roles)}
	if u.Disabled {
		id.Disabled = true
		return id, false, nil
	}
	return id, match, nil
}

var _ auth.PasswordUpgrader = (*Directory)(nil)

// NeedsUpgrade implements auth.PasswordUpgrader: the stored hash has another
// cost than the configured one. Until it is re-hashed, that user's attempts
// cost another time than an unknown name's (verified against a decoy at the
// configured cost), which is why the engine asks after every accept.
func (d *Directory) NeedsUpgrade(u store.User) bool {
	p, _, _, err := parseHash(u.PasswordHash)
	return err == nil && p != d.params
}

// UpgradePassword implements auth.PasswordUpgrader: it re-hashes at the
// configured cost, inside the hashing bound, and stores the result unless the
// password changed meanwhile. A failure only delays the upgrade.
func (d *Directory) UpgradePassword(ctx context.Context, u store.User, password string) {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	h, err := HashPassword(password, d.params, nil)
	<-d.sem
	if err != nil {
		return
	}
	_ = d.users.UpdateUser(ctx, u.Name, func(cur *store.User) error {
		if cur.PasswordHash != u.PasswordHash {
			return errStale // changed meanwhile (passwd): keep the newer one
		}
		cur.PasswordHash = h
		return nil
	})
}

var errStale = errors.New("localdir: password changed meanwhile")
