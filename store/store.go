// Package store defines the persistence contract of radiusmfa: the records it
// keeps (users, enrollments, lockout counters, audit) and the Store interface
// every backend implements. Backends live in sub-packages (store/bolt is the
// embedded default); store/storetest is the conformance suite they all pass.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them so callers test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrReplay is returned by AdvanceCounter when the offered counter is not
	// greater than the last accepted one: the code was already used.
	ErrReplay = errors.New("store: counter not advanced (code already used)")
	ErrClosed = errors.New("store: closed")
	// ErrInvalid is returned for a change the store refuses to make (an
	// update that would alter an enrollment's identity or secret).
	ErrInvalid = errors.New("store: invalid change")
)

// User is an account known to radiusmfa. For the built-in directory it holds
// the password hash; for directory-backed users (LDAP/AD) PasswordHash is empty.
type User struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash,omitempty"` // PHC-encoded argon2id
	Roles        []string  `json:"roles,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"` // set by `user lock`; cleared by `user unlock`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Directory names where the user's password lives: "" for the built-in
	// directory, "ldap" for a user of an LDAP or Active Directory server
	// (whose record holds no password hash).
	Directory string `json:"directory,omitempty"`
	// Profile is what the directory said of the user at the last login:
	// where later factors (SMS, voice, email) can reach them.
	Profile Profile `json:"profile,omitzero"`
}

// Profile holds the contact details read from a directory at login.
type Profile struct {
	DisplayName string `json:"display_name,omitempty"`
	Mail        string `json:"mail,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

// Enrollment is one second-factor device of a user.
type Enrollment struct {
	ID        string `json:"id"`
	User      string `json:"user"`
	Kind      string `json:"kind"` // "totp"
	Label     string `json:"label,omitempty"`
	Secret    []byte `json:"-"` // plaintext in memory; backends seal it at rest
	Digits    int    `json:"digits,omitempty"`
	Algorithm string `json:"algorithm,omitempty"` // SHA1, SHA256, SHA512
	Period    int    `json:"period,omitempty"`    // seconds
	// Counter is the last accepted TOTP time step (or HOTP counter). A code is
	// accepted only if its counter is strictly greater.
	// For kind "backup" it is the bitmask of the codes already used; for
	// kind "bypass" the number of uses made.
	Counter    uint64    `json:"counter"`
	Disabled   bool      `json:"disabled,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Preferred marks the device the user chose to be asked for first.
	Preferred bool `json:"preferred,omitempty"`
	// ExpiresAt ends a bypass code's life (zero: never expires).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// MaxUses is how many logins a bypass code allows (0: not limited by
	// count; only bypass codes set it).
	MaxUses int `json:"max_uses,omitempty"`
	// CreatedBy names who made the enrollment when it was not the user
	// (the help-desk operator who issued a bypass code).
	CreatedBy string `json:"created_by,omitempty"`
}

// Settings are the server-wide settings changed at run time from the
// console, kept in the store so every restart keeps them.
type Settings struct {
	Enforcement Enforcement `json:"enforcement"`
	UpdatedAt   time.Time   `json:"updated_at,omitzero"`
	UpdatedBy   string      `json:"updated_by,omitempty"`
}

// Enforcement says who must use a second factor. A mode is "off" (the
// password alone), "optional" (users with a device use it, others get in on
// the password) or "required" (everyone; users with no device are sent to
// enroll). "" means not set at that level.
type Enforcement struct {
	// Mode applies where no group or client setting does; "" leaves the
	// configuration's auth.enforcement in force.
	Mode string `json:"mode,omitempty"`
	// Groups maps a directory group (or a built-in user's role) to a mode;
	// a user in several takes the strictest.
	Groups map[string]string `json:"groups,omitempty"`
	// Clients maps a RADIUS client name to a mode; it wins over groups and
	// the global mode for logins through that client.
	Clients map[string]string `json:"clients,omitempty"`
	// Deadline is when "required" starts rejecting users with no device;
	// before it they get in on the password and are asked to enroll.
	Deadline time.Time `json:"deadline,omitzero"`
	// Methods lists the enrollment kinds users may use ("totp", "backup");
	// empty allows every kind the server runs. Bypass codes always work.
	Methods []string `json:"methods,omitempty"`
}

// LockoutPolicy says when consecutive failures lock an account.
type LockoutPolicy struct {
	Threshold int           // failures in a row that lock; 0 disables lockout
	Duration  time.Duration // how long a lock lasts; 0 means until cleared by an admin
}

// Count applies one failure at time at to l: a lock that has run out starts
// a fresh count, and reaching the threshold locks (again) from at. Every
// backend, and every fake, uses this one rule.
func (p LockoutPolicy) Count(l Lockout, at time.Time) Lockout {
	if l.Locked && !l.LockedUntil.IsZero() && !at.Before(l.LockedUntil) {
		l = Lockout{}
	}
	l.Failures++
	l.LastFailure = at
	if l.Active(at) {
		return l // a failure during a lock does not extend it
	}
	if p.Threshold > 0 && l.Failures >= p.Threshold {
		l.Locked = true
		l.LockedUntil = time.Time{}
		if p.Duration > 0 {
			l.LockedUntil = at.Add(p.Duration)
		}
	}
	return l
}

// Lockout is the failure counter of one user name.
type Lockout struct {
	Failures    int       `json:"failures"`
	LastFailure time.Time `json:"last_failure"`
	// Locked reports a lock; LockedUntil is its end (zero: until an admin clears it).
	Locked      bool      `json:"locked"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// Active reports whether the lockout blocks a login at time now.
func (l Lockout) Active(now time.Time) bool {
	return l.Locked && (l.LockedUntil.IsZero() || now.Before(l.LockedUntil))
}

// LoginState is what one login attempt reads: the user record, the failure
// counter of the name and the user's enrollments, taken together from one
// consistent snapshot. Any name may be asked for; an unknown one has no
// user, no enrollments and possibly a counter.
type LoginState struct {
	User      User
	UserFound bool
	Lockout   Lockout // zero value when none
	// LockoutFound reports a stored counter: without one, ClearFailures has
	// nothing to do.
	LockoutFound bool
	Enrollments  []Enrollment // secrets opened, in id order
}

// AuditRecord is one authentication decision, accounting event or admin action.
type AuditRecord struct {
	Seq              uint64        `json:"seq"` // assigned by the store, increasing
	Time             time.Time     `json:"time"`
	Kind             string        `json:"kind"` // "auth", "accounting", "admin"
	User             string        `json:"user,omitempty"`
	Client           string        `json:"client,omitempty"`
	NASIdentifier    string        `json:"nas_identifier,omitempty"`
	NASIPAddress     string        `json:"nas_ip_address,omitempty"`
	CallingStationID string        `json:"calling_station_id,omitempty"`
	Factor           string        `json:"factor,omitempty"`
	Outcome          string        `json:"outcome,omitempty"`
	Reason           string        `json:"reason,omitempty"`
	Detail           string        `json:"detail,omitempty"`
	Duration         time.Duration `json:"duration,omitempty"`
}

// Store is the persistence contract. Every method is safe for concurrent use.
// A method that returns nil has made its change durable.
type Store interface {
	CreateUser(ctx context.Context, u User) error // ErrExists
	GetUser(ctx context.Context, name string) (User, error)
	// UpdateUser applies fn to the stored user atomically; an error from fn aborts.
	UpdateUser(ctx context.Context, name string, fn func(*User) error) error
	// DeleteUser removes the user with its enrollments and lockout counter.
	DeleteUser(ctx context.Context, name string) error
	ListUsers(ctx context.Context) ([]User, error) // sorted by name

	AddEnrollment(ctx context.Context, e Enrollment) error // ErrNotFound for an unknown user, ErrExists for a taken ID
	// AddFirstEnrollment is AddEnrollment only while the user has no
	// enrollment at all (ErrExists otherwise), checked and written in one
	// transaction: a device enrolled on the password alone can never be a
	// second one.
	AddFirstEnrollment(ctx context.Context, e Enrollment) error
	Enrollments(ctx context.Context, user string) ([]Enrollment, error)
	DeleteEnrollment(ctx context.Context, user, id string) error
	// UpdateEnrollment applies fn to the stored enrollment atomically (ErrNotFound
	// when there is none); an error from fn aborts and is returned. fn may
	// change Label, Disabled, Preferred, Counter, LastUsedAt, ExpiresAt and
	// MaxUses; changes to ID, User, Kind, Secret, CreatedAt or CreatedBy are
	// refused with ErrInvalid, so no caller can re-key or re-seed a device.
	UpdateEnrollment(ctx context.Context, user, id string, fn func(*Enrollment) error) error
	// AdvanceCounter atomically raises the enrollment's Counter to c and sets
	// LastUsedAt, or returns ErrReplay when c <= the stored Counter.
	AdvanceCounter(ctx context.Context, user, id string, c uint64, at time.Time) error

	Lockout(ctx context.Context, user string) (Lockout, error) // zero value when none
	// RecordFailure counts one failure at time at and locks per policy.
	RecordFailure(ctx context.Context, user string, at time.Time, p LockoutPolicy) (Lockout, error)
	// ClearFailures resets the counter and lifts any lock. No-op when none.
	ClearFailures(ctx context.Context, user string) error
	// PruneLockouts deletes the counters whose last failure is before
	// idleSince and that hold no lock active at now, and returns how many.
	// Failures are counted for any name, known or not, so without pruning
	// a spray of made-up names would grow the store without bound.
	PruneLockouts(ctx context.Context, idleSince, now time.Time) (int, error)

	// LoginState reads what one login needs (user, lockout counter,
	// enrollments) in one read, so a login pays for one snapshot, not four.
	LoginState(ctx context.Context, user string) (LoginState, error)

	// Settings returns the run-time settings (the zero value when never set).
	Settings(ctx context.Context) (Settings, error)
	// UpdateSettings applies fn to the settings atomically; an error from fn aborts.
	UpdateSettings(ctx context.Context, fn func(*Settings) error) error

	// ServerSecret returns the named server secret (opened), ErrNotFound when none.
	// Server secrets are keys the server makes for itself (the Web Push VAPID
	// key pair); backends seal them at rest like enrollment secrets. A name
	// is non-empty, at most 1024 bytes and holds no NUL byte; others are
	// refused with an error.
	ServerSecret(ctx context.Context, name string) ([]byte, error)
	// PutServerSecretIfAbsent stores value under name unless one exists, and returns the stored one (so two first runs agree).
	// The check and the write are one transaction. An empty value is refused.
	PutServerSecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error)

	// AppendAudit stores records, assigning Seq, and prunes past the retention limit.
	AppendAudit(ctx context.Context, recs ...AuditRecord) error
	// RecentAudit returns up to n newest records, oldest first.
	RecentAudit(ctx context.Context, n int) ([]AuditRecord, error)

	Close() error
}
