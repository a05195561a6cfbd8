// Package auth is the decision engine: it checks the primary password once,
// applies policy (lockout, enrollment), verifies the second factor and returns
// a Decision. It knows nothing of RADIUS packets or HTTP.
package auth

import (
	"context"
	"errors"
	"net/netip"

	"radiusmfa/store"
)

// Request is one login attempt, already decoded from its transport.
type Request struct {
	UserName string
	// Password is the secret as typed: the password, optionally followed by
	// the delimiter and a passcode or keyword.
	Password         string
	Client           string         // name of the RADIUS client (from the client table)
	Source           netip.AddrPort // where the request came from
	NASIdentifier    string
	NASIPAddress     string
	CallingStationID string
	// Interactive marks a sign-in on the enrollment site: a user with a
	// device must use it there even where MFA is off, and the site's form
	// has its own code field, so it is never sent an Access-Challenge.
	Interactive bool
	// State is the State attribute of an answer to an Access-Challenge
	// (RFC 2865 §4.4); Password then holds the answer.
	State []byte
}

// Outcome is what the transport must do.
type Outcome int

const (
	Reject Outcome = iota
	Accept
	Challenge
	// Drop means send nothing (overload): the client will retransmit.
	Drop
	// Pending means the answer waits on the user (a push to their phone):
	// the transport holds the request and gets the final decision from
	// Decision.Await, or blocks in Decision.Wait.
	Pending
)

func (o Outcome) String() string {
	switch o {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Challenge:
		return "challenge"
	case Drop:
		return "drop"
	case Pending:
		return "pending"
	}
	return "unknown"
}

// Reason is the internal cause of a decision: logged and audited, never sent.
type Reason string

const (
	ReasonOK                   Reason = "ok"
	ReasonNoFactorAllowed      Reason = "no_factor_allowed"
	ReasonBadCredentials       Reason = "bad_credentials" // unknown user or wrong password: one reason, no enumeration
	ReasonAccountDisabled      Reason = "account_disabled"
	ReasonLockedOut            Reason = "locked_out"
	ReasonPasscodeRequired     Reason = "passcode_required"
	ReasonBadPasscode          Reason = "bad_passcode"
	ReasonReplayedPasscode     Reason = "replayed_passcode"
	ReasonNotEnrolled          Reason = "not_enrolled"
	ReasonNoUsableFactor       Reason = "no_usable_factor" // devices exist, none usable: never password-only
	ReasonInvalidRequest       Reason = "invalid_request"
	ReasonDirectoryUnavailable Reason = "directory_unavailable"
	ReasonOverloaded           Reason = "overloaded"
	ReasonInternalError        Reason = "internal_error"

	// Denials a directory explains once the password is known to be right.
	ReasonPasswordExpired    Reason = "password_expired"
	ReasonMustChangePassword Reason = "must_change_password"
	ReasonAccountExpired     Reason = "account_expired"
	ReasonLogonRestricted    Reason = "logon_restricted" // logon hours or workstation
	// ReasonDirectoryLocked is the directory's own lockout (AD 775, OpenLDAP
	// ppolicy). AD reports it whatever the password, so its reply is the
	// generic failure.
	ReasonDirectoryLocked Reason = "directory_locked"

	// Group policy.
	ReasonGroupDenied        Reason = "group_denied"          // member of a deny group
	ReasonNotInRequiredGroup Reason = "not_in_required_group" // in no require group
	ReasonMFAExempt          Reason = "mfa_exempt"            // accepted on the password: exempt group
	ReasonMFANotRequired     Reason = "mfa_not_required"      // accepted on the password: MFA only for some groups

	// Enforcement.
	ReasonMFAOff          Reason = "mfa_off"          // accepted on the password: MFA is off for this login
	ReasonEnrollmentGrace Reason = "enrollment_grace" // no device, accepted before the enrollment deadline

	// Access-Challenge.
	ReasonChallengeSent    Reason = "challenge_sent"    // right password, no code: asked for one
	ReasonBadState         Reason = "bad_state"         // an answer with a State we never sent, or sent to another user, client or address
	ReasonChallengeExpired Reason = "challenge_expired" // an answer after the State's lifetime
	ReasonBadChoice        Reason = "bad_choice"        // a menu answer that names no method
)

// Public messages for the directory's explained denials. Each follows a
// correct password (the directory checks it first), so it reveals nothing
// to someone who does not already hold the password.
const (
	MsgPasswordExpired    = "Your password has expired: change it, then log in again"
	MsgMustChangePassword = "You must change your password before you can log in"
	MsgAccountDisabled    = "Your account is disabled"
	MsgAccountExpired     = "Your account has expired"
	MsgLogonRestricted    = "Your account may not log in at this time or from here"
	MsgNotAllowed         = "Your account is not allowed to log in here"
)

// Decision is the engine's answer. Message is public (Reply-Message); Reason
// is private.
type Decision struct {
	Outcome Outcome
	Reason  Reason
	Message string
	User    string // normalised user name
	Factor  string // factor that decided, e.g. "totp"
	State   []byte // Access-Challenge State (later issues)
	// Attributes are the reply attributes policy grants an Accept (from
	// group membership), in order; empty for any other outcome.
	Attributes []Attribute
	// Groups are the user's groups as the directory gave them, once the
	// password was found right (the site maps them to console roles).
	Groups []string
	// Enroll is set when the user has no device and must enroll (rejected,
	// or accepted in the grace before the deadline).
	Enroll bool
	// Err is the internal cause of an internal_error or
	// directory_unavailable decision, for the operator's log only: never
	// sent, never audited (it may name files or records).
	Err error
	// later is the wait of a Pending decision (see Await).
	later *later
}

// Attribute is a reply attribute granted by policy, already in its wire
// form so that encoding a reply costs no lookup: for RADIUS, Type is the
// attribute type (26 for a vendor-specific attribute) and Data its value
// octets (for type 26: vendor id, vendor type, length and value). Name and
// Value are its human spelling, for logs and `radiusmfa ldap test`.
type Attribute struct {
	Name  string
	Value string
	Type  byte
	Data  []byte
}

// Identity is a user as the primary authenticator knows them.
type Identity struct {
	Name string
	DN   string
	// Groups are the names (cn) of every group the user is in, nested
	// membership included; GroupDNs are the same groups' DNs when known.
	Groups   []string
	GroupDNs []string
	// Profile is the contact data the directory holds for the user; the
	// engine keeps it in the store for later factors.
	Profile store.Profile
	// Disabled is set, with ok=false, for a known account an administrator
	// disabled; it only refines the logged Reason, never the reply.
	Disabled bool
	// Reason and Message refine a denial (ok=false) that the directory
	// explained after the password was found right (an expired password, a
	// disabled account): Reason is logged, Message (when set) replaces the
	// generic failure in the reply. A directory must never set them for a
	// wrong password or an unknown user.
	Reason  Reason
	Message string
}

// NameNormalizer is an optional interface of an Authenticator that accepts
// several spellings of one user name (DOMAIN\user, user@realm): the engine
// asks it for the canonical name before it reads any state, so lockout
// counters and enrollments belong to the user, not to the spelling.
type NameNormalizer interface {
	NormalizeName(name string) string
}

// Authenticator checks a primary password. "Denied" is a value (ok=false);
// "broken" is an error (directory down, overload): the engine fails closed.
// Implementations must do the same work for unknown users as for known ones.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (id Identity, ok bool, err error)
}

// RecordAuthenticator is an Authenticator whose users live in the store (the
// built-in directory). The engine reads the user record with the rest of the
// login's state and hands it over, sparing the directory a read of its own.
// exists=false (u is then zero) must cost the same work as a wrong password.
type RecordAuthenticator interface {
	Authenticator
	AuthenticateRecord(ctx context.Context, username, password string, u store.User, exists bool) (id Identity, ok bool, err error)
}

// PasswordUpgrader is an optional interface of an Authenticator that keeps
// password hashes itself: after an Accept the engine asks whether the stored
// hash has another cost than the configured one and, if so, has it re-hashed
// in the background, off the reply path.
type PasswordUpgrader interface {
	NeedsUpgrade(u store.User) bool
	UpgradePassword(ctx context.Context, u store.User, password string)
}

// ErrAttemptSpent is returned (wrapped) by an Authenticator that failed
// after the password may have reached the directory (a bind sent, its
// answer lost): the engine then rejects instead of dropping, because the
// client's retransmission would send the password again, and a directory
// such as AD counts every failed bind toward its lockout.
var ErrAttemptSpent = errors.New("auth: the directory may have checked the password; not asking again")

// ErrOverloaded is returned (wrapped) by an Authenticator that could not get
// capacity before the request's deadline; the engine turns it into Drop.
var ErrOverloaded = errOverloaded{}

type errOverloaded struct{}

func (errOverloaded) Error() string { return "auth: overloaded" }
