package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// EngineStore is the part of the store the engine reads and writes. An
// attempt reads once (LoginState) and writes only what its outcome changes.
type EngineStore interface {
	LoginState(ctx context.Context, user string) (store.LoginState, error)
	// CreateUser and UpdateUser keep the profile a directory returned.
	CreateUser(ctx context.Context, u store.User) error
	UpdateUser(ctx context.Context, name string, fn func(*store.User) error) error
	RecordFailure(ctx context.Context, user string, at time.Time, p store.LockoutPolicy) (store.Lockout, error)
	ClearFailures(ctx context.Context, user string) error
}

// Policy is the engine's configuration.
type Policy struct {
	Delimiter string
	// MFA is the mode where the run-time enforcement settings (console)
	// set none: the configuration's auth.enforcement. The zero value is
	// ModeRequired, the safe one.
	MFA           Mode
	EnrollMessage string
	Lockout       store.LockoutPolicy
	// Groups is the group policy of every client without one of its own
	// in ClientGroups (keyed by client name).
	Groups       GroupPolicy
	ClientGroups map[string]GroupPolicy
	// Directory names the external directory whose users' profiles the
	// engine keeps in the store ("ldap"); "" when the users live in the
	// store (the built-in directory).
	Directory string
	// Challenge is how a login with a right password and no appended code
	// goes on, for clients without one of their own in ClientChallenge
	// (keyed by client name); the zero value is ChallengeAppendOnly.
	Challenge       ChallengeMode
	ClientChallenge map[string]ChallengeMode
	// ChallengeTTL bounds how long an Access-Challenge's State may be
	// answered (default 60 s).
	ChallengeTTL time.Duration
	// ClientNumberMatch marks the clients (in challenge mode) whose push
	// logins show a number the user must pick in the app.
	ClientNumberMatch map[string]bool
}

// Public messages. Every credential failure shares one message, so a reply
// never tells whether the user exists, the password was right or only the
// code was wrong.
const (
	MsgFailed   = "Authentication failed. Enter your password followed by your one-time code, e.g. password,123456"
	MsgLocked   = "Too many failed attempts: the account is temporarily locked"
	MsgInvalid  = "Invalid request"
	MsgInternal = "Authentication is temporarily unavailable"
)

// Engine decides one login attempt at a time; it is safe for concurrent use.
type Engine struct {
	primary    Authenticator
	store      EngineStore
	factors    map[string]factors.Factor
	policy     Policy
	now        func() time.Time
	failMsg    string
	active     attempts
	enforce    atomic.Pointer[Enforcement]
	challenges *challenges
	pusher     Pusher
	sender     CodeSender
}

// SetEnforcement installs the run-time enforcement settings (nil: none);
// logins that start afterwards use them.
func (e *Engine) SetEnforcement(en *Enforcement) { e.enforce.Store(en) }

// Enforcement returns the settings in force (nil when none).
func (e *Engine) Enforcement() *Enforcement { return e.enforce.Load() }

// DefaultMode is the configuration's mode, used where no setting applies.
func (e *Engine) DefaultMode() Mode { return e.policy.MFA }

// NewEngine wires the engine. now may be nil (time.Now).
func NewEngine(primary Authenticator, s EngineStore, fs []factors.Factor, p Policy, now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	if p.Delimiter == "" {
		p.Delimiter = ","
	}
	if p.MFA == "" {
		p.MFA = ModeRequired
	}
	if p.ChallengeTTL <= 0 {
		p.ChallengeTTL = DefaultChallengeTTL
	}
	m := make(map[string]factors.Factor, len(fs))
	for _, f := range fs {
		m[f.Kind()] = f
	}
	return &Engine{primary: primary, store: s, factors: m, policy: p, now: now,
		failMsg: failMessage(p.Delimiter), challenges: newChallenges()}
}

func failMessage(delim string) string {
	if delim == "," {
		return MsgFailed
	}
	return "Authentication failed. Enter your password followed by your one-time code, e.g. password" + delim + "123456"
}

// Decide runs one attempt: lockout state, one primary check, then the second
// factor. It never returns an error: "broken" becomes a fail-closed Reject
// with an internal Reason, and overload becomes Drop. A login that waits on
// a push returns Pending at once: the caller must take the final decision
// from its Await or Wait, exactly once.
func (e *Engine) Decide(ctx context.Context, r Request) Decision {
	name, ok := NormalizeUserName(r.UserName)
	if !ok {
		return Decision{Outcome: Reject, Reason: ReasonInvalidRequest, Message: MsgInvalid}
	}
	if nn, has := e.primary.(NameNormalizer); has {
		if name, ok = NormalizeUserName(nn.NormalizeName(name)); !ok {
			return Decision{Outcome: Reject, Reason: ReasonInvalidRequest, Message: MsgInvalid}
		}
	}
	if len(r.State) > 0 {
		return e.continueChallenge(ctx, r, name)
	}
	password, code := SplitPasscode(r.Password, e.policy.Delimiter)
	var kw Keyword
	if code == "" {
		// The site's sign-in form may ask for a code to be sent, not for
		// a push: it has a field of its own for the code.
		if pw, k, ok := SplitKeyword(r.Password, e.policy.Delimiter); ok && e.sends(k) && (!r.Interactive || k.Kind != KindPush) {
			password, kw = pw, k
		}
	}
	d := Decision{User: name}
	if password == "" {
		// Refused before any bind: an empty password is an unauthenticated
		// bind to many LDAP servers. It is no guess, so it is not counted:
		// counting it would let anyone create lockout counters (and extend
		// locks) at packet rate without paying for a hash.
		d.Outcome, d.Reason, d.Message = Reject, ReasonBadCredentials, e.failMsg
		return d
	}
	// The attempt is in progress until its final decision: for a Pending
	// one, until the push it waits on ends (see the end of Decide).
	inProgress := e.active.begin(name)
	activeName, held := name, false // name may become the directory's spelling below
	defer func() {
		if !held {
			e.active.end(activeName)
		}
	}()
	// One snapshot for the whole attempt, read for any name, known or not.
	st, err := e.store.LoginState(ctx, name)
	if err != nil {
		return internal(d, err)
	}
	_, inStore := e.primary.(RecordAuthenticator)
	locked := func(l store.Lockout) bool {
		now := e.now()
		return l.Active(now) || e.overBudget(l, now, inProgress)
	}
	if !inStore && locked(st.Lockout) {
		// An external directory is not asked about a locked name: each
		// ask would be one more failed bind toward the directory's own
		// lockout, and its answer's timing would tell a right password
		// from a wrong one. Counters exist for any name, so this reveals
		// nothing.
		d.Outcome, d.Reason, d.Message = Reject, ReasonLockedOut, MsgLocked
		return d
	}
	id, ok, err := e.checkPrimary(ctx, name, password, st)
	switch {
	case errors.Is(err, ErrAttemptSpent):
		// The password reached the directory: a retransmission must not
		// send it again, so answer now rather than drop.
		d.Outcome, d.Reason, d.Message, d.Err = Reject, ReasonDirectoryUnavailable, MsgInternal, err
		return d
	case errors.Is(err, ErrOverloaded) || (err != nil && ctx.Err() != nil):
		d.Outcome, d.Reason = Drop, ReasonOverloaded
		return d
	case err != nil:
		d.Outcome, d.Reason, d.Message, d.Err = Reject, ReasonDirectoryUnavailable, MsgInternal, err
		return d
	}
	if ok && !inStore {
		// The directory's name for the account (sAMAccountName, uid) is
		// the user's key: one account logging in as alice@realm and as
		// alice is one user, with one set of devices and one counter.
		if canon, valid := NormalizeUserName(id.Name); valid && canon != name {
			if st, err = e.store.LoginState(ctx, canon); err != nil {
				return internal(d, err)
			}
			name, d.User = canon, canon
		}
	}
	// The built-in directory's check ran even for a locked account, so a
	// locked account costs the same time as any other. Attempts still in
	// progress count against the budget, so parallel guesses cannot
	// overrun it.
	if locked(st.Lockout) {
		d.Outcome, d.Reason, d.Message = Reject, ReasonLockedOut, MsgLocked
		return d
	}
	if !ok {
		switch {
		case id.Disabled:
			return e.fail(ctx, d, ReasonAccountDisabled)
		case id.Reason != "":
			d = e.fail(ctx, d, id.Reason)
			if id.Message != "" && d.Message == e.failMsg {
				d.Message = id.Message
			}
			return d
		}
		return e.fail(ctx, d, ReasonBadCredentials)
	}
	if e.policy.Directory != "" && st.UserFound && st.User.Disabled {
		// `radiusmfa user lock` holds for directory users too; the
		// directory's own answer was right, so this is the admin's lock.
		return e.fail(ctx, d, ReasonAccountDisabled)
	}
	pol := e.PolicyFor(r.Client)
	res := pol.Evaluate(id)
	if !res.Allowed {
		// Not a guess (the password was right), so not counted.
		d.Outcome, d.Reason, d.Message = Reject, res.Reason, MsgNotAllowed
		return d
	}
	d.Groups = id.Groups
	profileErr := e.keepProfile(ctx, name, id, st)
	if dd, ok := e.sender.(DirectoryDevices); ok && e.policy.Directory != "" {
		// The directory's phone and address as devices, when trusted:
		// written only when they changed.
		var err error
		if st.Enrollments, err = dd.SyncDirectory(context.WithoutCancel(ctx), name, id.Profile, st.Enrollments); err != nil {
			profileErr = errors.Join(profileErr, err)
		}
	}
	enf := e.enforce.Load()
	mode := enf.ModeFor(r.Client, id, e.policy.MFA)
	reason := res.Reason
	switch {
	case !res.MFARequired:
		mode = ModeOff // exempt by the group policy
	case mode == ModeOff:
		reason = ReasonMFAOff
	}
	if r.Interactive && mode == ModeOff {
		// The site never lets a password alone act for a user who has a
		// device: it could remove that device or add one of its own.
		mode = ModeOptional
	}
	if mode == ModeOff {
		d = e.accept(ctx, d, "", reason, st.LockoutFound)
	} else {
		ch := challengeStart{mode: e.challengeMode(r), req: r, user: name, attrs: res.Attributes, kw: kw}
		d = e.secondFactor(ctx, d, code, st, mode, enf, ch)
	}
	attrs := res.Attributes
	if d.Outcome == Pending {
		// The password is right and the push is on its way: a stored hash
		// is upgraded now, so the password is not kept while the user
		// answers.
		held = true
		e.upgradePassword(ctx, st.User, password)
		return d.then(func(d Decision) Decision {
			e.active.end(activeName)
			return granted(d, attrs, profileErr)
		})
	}
	d = granted(d, attrs, profileErr)
	if d.Outcome == Accept {
		e.upgradePassword(ctx, st.User, password)
	}
	return d
}

// granted gives an accepted decision the group policy's attributes and
// reports a failure to store the directory's profile (never a reject).
func granted(d Decision, attrs []Attribute, profileErr error) Decision {
	if d.Outcome == Accept {
		d.Attributes = attrs
		if d.Err == nil && profileErr != nil {
			d.Err = profileErr
		}
	}
	return d
}

// PolicyFor returns the group policy that applies to logins through the
// named RADIUS client.
func (e *Engine) PolicyFor(client string) *GroupPolicy {
	if p, ok := e.policy.ClientGroups[client]; ok {
		return &p
	}
	return &e.policy.Groups
}

// keepProfile stores what an external directory says of the user (contact
// details for later factors) when it differs from the record, creating the
// record on a first login. It writes nothing in the common case; a failure
// is reported, never turned into a reject.
func (e *Engine) keepProfile(ctx context.Context, name string, id Identity, st store.LoginState) error {
	if e.policy.Directory == "" {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	if !st.UserFound {
		now := e.now()
		err := e.store.CreateUser(ctx, store.User{Name: name, Directory: e.policy.Directory,
			Profile: id.Profile, CreatedAt: now, UpdatedAt: now})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("keeping the directory profile: %w", err)
		}
		return nil
	}
	if st.User.Profile == id.Profile {
		return nil
	}
	err := e.store.UpdateUser(ctx, name, func(u *store.User) error {
		u.Profile, u.UpdatedAt = id.Profile, e.now()
		return nil
	})
	if err != nil {
		return fmt.Errorf("keeping the directory profile: %w", err)
	}
	return nil
}

// upgradePassword lets a directory re-hash a stored password whose cost is
// not the configured one, after the accept and off the reply path, so an
// attempt still costs exactly one hash before its reply.
func (e *Engine) upgradePassword(ctx context.Context, u store.User, password string) {
	up, ok := e.primary.(PasswordUpgrader)
	if !ok || !up.NeedsUpgrade(u) {
		return
	}
	go up.UpgradePassword(context.WithoutCancel(ctx), u, password)
}

// checkPrimary is the attempt's one primary check. A directory kept in the
// store gets the user record already read instead of reading it again.
func (e *Engine) checkPrimary(ctx context.Context, name, password string, st store.LoginState) (Identity, bool, error) {
	if rp, ok := e.primary.(RecordAuthenticator); ok {
		return rp.AuthenticateRecord(ctx, name, password, st.User, st.UserFound)
	}
	return e.primary.Authenticate(ctx, name, password)
}

// overBudget reports whether this attempt, with those in progress beside
// it, would go past the failures the lockout policy still allows.
func (e *Engine) overBudget(l store.Lockout, now time.Time, inProgress int) bool {
	failures := l.Failures
	if l.Locked && !l.Active(now) {
		failures = 0 // an expired lock starts a new count, as the store does
	}
	t := e.policy.Lockout.Threshold
	return t > 0 && failures+inProgress > t
}

func (e *Engine) secondFactor(ctx context.Context, d Decision, code string, st store.LoginState, mode Mode, enf *Enforcement, ch challengeStart) Decision {
	all := st.Enrollments
	if len(all) > 0 && !slices.ContainsFunc(all, func(en store.Enrollment) bool { return !spentBypass(en, e.now()) }) {
		// Only bypass codes that expired or were used up: they can never
		// log in again, so the user is one with no device (and may enroll
		// one), not one locked out by a spent code.
		all = nil
	}
	if len(all) == 0 {
		switch {
		case mode == ModeOptional:
			return e.accept(ctx, d, "", ReasonNoFactorAllowed, st.LockoutFound)
		case enf.InGrace(e.now()):
			d = e.accept(ctx, d, "", ReasonEnrollmentGrace, st.LockoutFound)
			d.Enroll = true
			// Reply-Message on the Accept: VPN clients that show it tell
			// the user to enroll before the deadline.
			d.Message = e.policy.EnrollMessage + " (required from " + enf.Deadline.UTC().Format("2006-01-02 15:04 UTC") + ")"
			return d
		}
		d.Outcome, d.Reason, d.Message = Reject, ReasonNotEnrolled, e.policy.EnrollMessage
		d.Enroll = true
		return d
	}
	// A user with devices is enrolled even when none of them can be used
	// now (all disabled, or of a kind this server does not run): never fall
	// back to the password alone.
	usable := e.usable(all, enf)
	if len(usable) == 0 {
		// The generic failure, not a message of its own: this follows a
		// correct password (after a stolen phone was disabled, say) and must
		// not confirm it. The reason is logged and audited.
		return e.fail(ctx, d, ReasonNoUsableFactor)
	}
	switch {
	case ch.kw.Kind == KindPush:
		devs := pushDevices(usable)
		if ch.kw.N >= len(devs) {
			return e.fail(ctx, d, ReasonNoPushDevice)
		}
		return e.push(ctx, d, devs[ch.kw.N], ch.req, st.LockoutFound, ch.attrs)
	case ch.kw.Kind != "":
		return e.sendByKeyword(ctx, d, ch.kw, usable, ch.req.Interactive)
	}
	if code == "" {
		if ch.mode == ChallengeAuto && e.pusher != nil && prefersPush(usable) {
			return e.push(ctx, d, pushDevices(usable)[0], ch.req, st.LockoutFound, ch.attrs)
		}
		if ch.mode != ChallengeAppendOnly {
			return e.startChallenge(ctx, d, ch, usable)
		}
		return e.fail(ctx, d, ReasonPasscodeRequired)
	}
	return e.verifyCode(ctx, d, code, usable, st.LockoutFound)
}

// usable keeps the enrollments a code may be checked against: of a kind
// this server runs and the settings allow, and not disabled.
func (e *Engine) usable(all []store.Enrollment, enf *Enforcement) []store.Enrollment {
	usable := all[:0:0]
	for _, en := range all {
		_, known := e.factors[en.Kind]
		known = known || (en.Kind == KindPush && e.pusher != nil)
		if known && !en.Disabled && enf.Allows(en.Kind) {
			usable = append(usable, en)
		}
	}
	return usable
}

// verifyCode checks code against the usable enrollments, consuming it.
func (e *Engine) verifyCode(ctx context.Context, d Decision, code string, usable []store.Enrollment, counted bool) Decision {
	reason := ReasonBadPasscode
	for _, en := range usable {
		switch err := e.factors[en.Kind].Verify(ctx, en, code); {
		case err == nil:
			return e.accept(ctx, d, en.Kind, ReasonOK, counted)
		case errors.Is(err, factors.ErrReplayed):
			reason = ReasonReplayedPasscode
		case errors.Is(err, factors.ErrExpired):
			reason = ReasonExpiredPasscode
		case errors.Is(err, factors.ErrInvalidCode):
		default:
			return internal(d, err)
		}
	}
	d = e.fail(ctx, d, reason)
	if reason == ReasonExpiredPasscode && d.Message == e.failMsg {
		// Only the code's holder gets here: the code matched.
		d.Message = MsgCodeExpired
	}
	return d
}

// accept clears the failure counter when the attempt's snapshot held one;
// without one, clearing is a no-op and the common accept writes nothing. So
// a failure recorded by a concurrent attempt after the snapshot survives the
// accept when the snapshot held no counter, and is cleared with the rest
// when it did (a successful login forgives what raced it). The code is
// already consumed, so a failure to clear (or a deadline reached meanwhile)
// must not turn the accept into a reject: it is reported in Err for the log.
func (e *Engine) accept(ctx context.Context, d Decision, factor string, reason Reason, counted bool) Decision {
	d.Outcome, d.Reason, d.Factor = Accept, reason, factor
	if !counted {
		return d
	}
	if err := e.store.ClearFailures(context.WithoutCancel(ctx), d.User); err != nil {
		d.Err = fmt.Errorf("clearing the failure counter: %w", err)
	}
	return d
}

// fail counts a failure toward the lockout of the name, whether or not such
// a user exists, so unknown users and wrong passwords take one path.
func (e *Engine) fail(ctx context.Context, d Decision, reason Reason) Decision {
	d.Outcome, d.Reason, d.Message = Reject, reason, e.failMsg
	if e.policy.Lockout.Threshold == 0 {
		return d
	}
	l, err := e.store.RecordFailure(context.WithoutCancel(ctx), d.User, e.now(), e.policy.Lockout)
	if err != nil {
		return internal(d, err)
	}
	if l.Active(e.now()) {
		d.Message = MsgLocked
	}
	return d
}

func internal(d Decision, err error) Decision {
	d.Outcome, d.Reason, d.Message, d.Err = Reject, ReasonInternalError, MsgInternal, err
	return d
}

// spentBypass reports whether en is a bypass code that can never log in
// again: expired, or every use made.
func spentBypass(en store.Enrollment, now time.Time) bool {
	return en.Kind == KindBypass && (!now.Before(en.ExpiresAt) || en.MaxUses <= 0 || en.Counter >= uint64(en.MaxUses))
}
