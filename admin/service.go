// Package admin is the management service layer: user and device operations
// used by the CLI, served over a local admin socket while the server runs
// (bbolt allows one process at a time), and later by the web console. Every
// change is written to the audit log with the acting operator.
package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"radiusmfa/auth"
	"radiusmfa/auth/localdir"
	"radiusmfa/factors"
	"radiusmfa/factors/otc"
	"radiusmfa/factors/phone"
	"radiusmfa/store"
)

// ErrInvalid marks a request refused for its content (bad name, weak password).
var ErrInvalid = errors.New("invalid request")

// Password length limits. RADIUS carries at most 128 bytes of User-Password,
// and the appended ",12345678" must still fit.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128 - 9
)

// UserInfo is what listing shows of a user.
type UserInfo struct {
	Name        string    `json:"name"`
	Disabled    bool      `json:"disabled"`
	LockedOut   bool      `json:"locked_out"`
	Failures    int       `json:"failures"`
	Devices     int       `json:"devices"`
	CreatedAt   time.Time `json:"created_at"`
	HasPassword bool      `json:"has_password"`
	// Directory is "builtin" or "ldap"; Profile is what the directory said
	// at the user's last login (where codes can be sent).
	Directory string        `json:"directory"`
	Profile   store.Profile `json:"profile,omitzero"`
}

// Device is an enrollment without its secret.
type Device struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Label      string    `json:"label"`
	Disabled   bool      `json:"disabled"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	Preferred  bool      `json:"preferred,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	// Remaining is the unused backup codes, or a bypass code's uses left.
	Remaining int `json:"remaining,omitempty"`
	// ExpiresAt and Expired describe a bypass code.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Expired   bool      `json:"expired,omitempty"`
	// Channel is how a push approver gets its pushes: "webpush" (the
	// approver app) or "ntfy".
	Channel string `json:"channel,omitempty"`
	// To is where the codes of a phone or an email address go, masked:
	// "•••-•••-3816", "cki•••@example.com".
	To string `json:"to,omitempty"`
}

// TOTPRequest asks for a new authenticator-app enrollment.
type TOTPRequest struct {
	User      string `json:"user"`
	Label     string `json:"label,omitempty"`
	Digits    int    `json:"digits,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
}

// TOTPResult is shown once: the seed is never readable again.
type TOTPResult struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	URI    string `json:"uri"`
}

// API is the operations the CLI needs, implemented by *Service in process
// and by *Client over the admin socket.
type API interface {
	AddUser(ctx context.Context, name, password string) error
	SetPassword(ctx context.Context, name, password string) error
	DeleteUser(ctx context.Context, name string) error
	ListUsers(ctx context.Context) ([]UserInfo, error)
	LockUser(ctx context.Context, name string) error
	UnlockUser(ctx context.Context, name string) error
	EnrollTOTP(ctx context.Context, r TOTPRequest) (TOTPResult, error)
	AddContact(ctx context.Context, user, kind, destination, label string) (string, error)
	ListDevices(ctx context.Context, user string) ([]Device, error)
	RemoveDevice(ctx context.Context, user, id string) error
	AuditTail(ctx context.Context, n int) ([]store.AuditRecord, error)

	// Help-desk and admin operations (the console's, for the CLI).
	SetDeviceDisabled(ctx context.Context, user, id string, disabled bool) error
	ResetEnrollment(ctx context.Context, user string) (int, error)
	IssueBypass(ctx context.Context, r BypassRequest) (BypassResult, error)
	Settings(ctx context.Context) (store.Settings, error)
	SetEnforcement(ctx context.Context, e store.Enforcement) error
	SetRoles(ctx context.Context, user string, roles []string) error
	UserDetail(ctx context.Context, name string) (UserDetail, error)
	SearchUsers(ctx context.Context, q string) ([]SearchResult, error)
	QueryAudit(ctx context.Context, q AuditQuery) ([]store.AuditRecord, error)
}

// Options configure the service.
type Options struct {
	Hash      localdir.Params
	Delimiter string
	Issuer    string
	Digits    int
	Algorithm string
	// Skew is the TOTP steps either side of now a confirming code may be
	// from (the totp section's skew).
	Skew  int
	Actor string // who acts, for the audit log, unless the call's context names one (WithActor)
	Now   func() time.Time
	// Directory is set ("ldap") when passwords live in an external
	// directory: enrolling a device for a user the store has not seen yet
	// then creates their record instead of failing.
	Directory string
	// NormalizeName, when set, is the directory's name normalisation
	// (ldapauth), applied to every user name as the engine applies it.
	NormalizeName func(string) string
	// Factors verify codes for ProveFactor, by enrollment kind; their kinds
	// are also the methods an admin may allow.
	Factors map[string]factors.Factor
	// Enforcement returns the settings in force (the engine's), for
	// ProveFactor's allowed methods; OnEnforcement puts new ones in force.
	Enforcement   func() *auth.Enforcement
	OnEnforcement func(*auth.Enforcement)
	// SearchDirectory, when set, searches the external directory.
	SearchDirectory func(ctx context.Context, q string, limit int) ([]DirectoryUser, error)
	// Alert tells the admins of a user's "this wasn't me" (the log, at least).
	Alert func(store.AuditRecord)
	// Clients returns the RADIUS clients overview of the running server.
	Clients func() []ClientInfo
	// Push is set when the server runs push approval: "push" is then a
	// method an admin may allow, and ResumePush lifts a user's push
	// suspension when staff unlock them.
	Push       bool
	ResumePush func(user string)
	// Codes sends the codes that prove a phone or an email address a user
	// adds (the server's *otc.Sender); nil when no codes are sent.
	// PhoneRules read the phone numbers typed for such devices.
	Codes      ContactCodes
	PhoneRules phone.Rules
}

// Service implements API on a store.
type Service struct {
	st      store.Store
	opt     Options
	hooksMu sync.Mutex
	hooks   []func(user string, bySelf bool)
	// backupMu serialises backup-code replacements.
	backupMu sync.Mutex
}

var _ API = (*Service)(nil)

// NewService returns the service over st.
func NewService(st store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Delimiter == "" {
		o.Delimiter = ","
	}
	if snd, ok := o.Codes.(*otc.Sender); ok && snd == nil {
		o.Codes = nil // a nil *otc.Sender (no codes sent) is no sender
	}
	return &Service{st: st, opt: o}
}

func (s *Service) userName(name string) (string, error) {
	n, ok := auth.NormalizeUserName(name)
	if ok && s.opt.NormalizeName != nil {
		// The spelling a login uses as its key: DOMAIN\user → user.
		n, ok = auth.NormalizeUserName(s.opt.NormalizeName(n))
	}
	if !ok {
		return "", fmt.Errorf("%w: user name must be 1-%d printable characters", ErrInvalid, auth.MaxUserNameLen)
	}
	return n, nil
}

func (s *Service) checkPassword(pw string) error {
	switch {
	case len(pw) < MinPasswordLen:
		return fmt.Errorf("%w: password must be at least %d characters", ErrInvalid, MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("%w: password must be at most %d bytes (RADIUS carries 128 with the passcode)", ErrInvalid, MaxPasswordLen)
	case strings.ContainsAny(pw, "\x00\r\n"):
		return fmt.Errorf("%w: password must not contain NUL or line breaks", ErrInvalid)
	}
	if _, code := auth.SplitPasscode(pw, s.opt.Delimiter); code != "" {
		return fmt.Errorf("%w: password must not end in %q followed by 6-8 digits (it would be read as a passcode)", ErrInvalid, s.opt.Delimiter)
	}
	if _, _, kw := auth.SplitKeyword(pw, s.opt.Delimiter); kw {
		return fmt.Errorf("%w: password must not end in %q followed by push, sms, phone or email (with or without 2 or 3: it would be read as a request for a push or a code)", ErrInvalid, s.opt.Delimiter)
	}
	return nil
}

func (s *Service) audit(ctx context.Context, action, user string) {
	// An audit failure must not undo a change already made; it is reported
	// in the store's own error path and metrics.
	_ = s.st.AppendAudit(ctx, store.AuditRecord{
		Time: s.opt.Now().UTC(), Kind: "admin", User: user, Detail: action, Client: s.actor(ctx), Outcome: "ok",
	})
	if user != "" && reducesAccess(action) {
		p, _ := s.principal(ctx)
		s.changed(user, s.isSelf(p, user))
	}
}

// reducesAccess reports whether an audited action takes something from the
// user (a device, a role, the account), so sessions granted before it must
// end.
func reducesAccess(action string) bool {
	for _, a := range []string{"device.disable ", "device.remove ", "user.reset_enrollment", "user.lock", "user.del", "user.roles ", "user.passwd"} {
		if strings.HasPrefix(action, a) {
			return true
		}
	}
	return false
}

// OnAccessReduced registers fn, called after every change that takes
// something from a user (a device disabled or removed, enrollment reset,
// account locked or deleted, roles or password changed), with whether the
// user made it themself. The site ends the user's other sessions with it.
func (s *Service) OnAccessReduced(fn func(user string, bySelf bool)) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.hooks = append(s.hooks, fn)
}

func (s *Service) changed(user string, bySelf bool) {
	s.hooksMu.Lock()
	hooks := slices.Clone(s.hooks)
	s.hooksMu.Unlock()
	for _, fn := range hooks {
		fn(user, bySelf)
	}
}
