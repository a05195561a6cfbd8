package enrollment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Session lifetimes: a session ends after IdleTimeout without a request or
// AbsoluteTimeout after sign-in, whichever comes first.
const (
	IdleTimeout     = 15 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
	sessionCookie   = "__Host-radiusmfa"
	maxSessions     = 100_000
	// maxUserSessions bounds one user's sessions: a new one ends the
	// oldest, so one account cannot fill the table.
	maxUserSessions = 5
)

// Scope is what a session may do.
type Scope int

const (
	// ScopeUser is a user who signed in with password and second factor.
	ScopeUser Scope = iota + 1
	// ScopeEnroll is a user with the right password and no device yet,
	// allowed only to enroll one.
	ScopeEnroll
)

var errNoSession = errors.New("enrollment: no such session")

type session struct {
	user  string
	scope Scope
	// role is the console role ("" for none): granted only at a sign-in
	// with a second factor (not a bypass code), never to an enrollment-only
	// session.
	role    string
	created time.Time
	seen    time.Time
	pending *pendingTOTP    // a secret being enrolled, never stored before confirmed
	contact *pendingContact // a phone or address being proven, likewise
}

// sessions are kept in memory, keyed by the SHA-256 of the cookie value,
// so a memory dump or a timing leak of the map gives no usable cookie.
// A restart signs everyone out.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	now func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, now: now}
}

// start makes a new session (a new id at every sign-in, never a reused one)
// and sets its cookie.
func (ss *sessions) start(w http.ResponseWriter, user string, scope Scope, role string) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	now := ss.now()
	ss.mu.Lock()
	ss.expire(now)
	ss.capUser(user)
	if len(ss.m) >= maxSessions {
		ss.dropOldest()
	}
	ss.m[sha256.Sum256([]byte(id))] = &session{user: user, scope: scope, role: role, created: now, seen: now}
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(AbsoluteTimeout / time.Second)})
}

// get returns the request's live session and refreshes its idle timer.
func (ss *sessions) get(r *http.Request) (session, bool) {
	_, s, ok := ss.getKey(r)
	return s, ok
}

// getKey is get with the session's key, for the setters below.
func (ss *sessions) getKey(r *http.Request) ([32]byte, session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return [32]byte{}, session{}, false
	}
	key := sha256.Sum256([]byte(c.Value))
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok {
		return key, session{}, false
	}
	if now.Sub(s.seen) >= IdleTimeout || now.Sub(s.created) >= AbsoluteTimeout {
		delete(ss.m, key)
		return key, session{}, false
	}
	s.seen = now
	return key, *s, true
}

func (ss *sessions) setScope(key [32]byte, scope Scope) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[key]; ok {
		s.scope = scope
	}
}

// drop deletes the request's session, if any, on the server only (a
// sign-in then sets the new cookie).
func (ss *sessions) drop(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.m, sha256.Sum256([]byte(c.Value)))
		ss.mu.Unlock()
	}
}

// end deletes the request's session and clears the cookie.
func (ss *sessions) end(w http.ResponseWriter, r *http.Request) {
	ss.drop(r)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// expire drops ended sessions; mu is held.
func (ss *sessions) expire(now time.Time) {
	for k, s := range ss.m {
		if now.Sub(s.seen) >= IdleTimeout || now.Sub(s.created) >= AbsoluteTimeout {
			delete(ss.m, k)
		}
	}
}

// dropOldest makes room when the table is full; mu is held.
func (ss *sessions) dropOldest() {
	var oldest [32]byte
	var at time.Time
	for k, s := range ss.m {
		if at.IsZero() || s.seen.Before(at) {
			oldest, at = k, s.seen
		}
	}
	delete(ss.m, oldest)
}

// capUser ends user's oldest sessions beyond maxUserSessions-1; mu is held.
func (ss *sessions) capUser(user string) {
	for {
		var oldest [32]byte
		var at time.Time
		n := 0
		for k, s := range ss.m {
			if s.user != user {
				continue
			}
			n++
			if at.IsZero() || s.created.Before(at) {
				oldest, at = k, s.created
			}
		}
		if n < maxUserSessions {
			return
		}
		delete(ss.m, oldest)
	}
}

// endUser ends every session of user but keep's.
func (ss *sessions) endUser(user string, keep [32]byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, s := range ss.m {
		if s.user == user && k != keep {
			delete(ss.m, k)
		}
	}
}

// endKey ends one session.
func (ss *sessions) endKey(key [32]byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, key)
}

// pending returns the session's pending secret, making one with mk when
// there is none, under the lock: two tabs share one secret.
func (ss *sessions) pendingOrNew(key [32]byte, mk func() (*pendingTOTP, error)) (*pendingTOTP, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok {
		return nil, errNoSession
	}
	if s.pending == nil {
		p, err := mk()
		if err != nil {
			return nil, err
		}
		s.pending = p
	}
	return s.pending, nil
}

// wrongCode counts a wrong confirmation code and drops the pending secret
// at the limit; it reports whether the secret is gone.
func (ss *sessions) wrongCode(key [32]byte, p *pendingTOTP) (dropped bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok || s.pending != p {
		return true
	}
	p.tries++
	if p.tries >= maxConfirmTries {
		s.pending = nil
		return true
	}
	return false
}

// takePending detaches p from the session if it is still the pending
// secret, so two confirmations of one secret cannot both store it.
func (ss *sessions) takePending(key [32]byte, p *pendingTOTP) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok || s.pending != p {
		return false
	}
	s.pending = nil
	return true
}

// restorePending gives back a secret taken by takePending whose
// confirmation failed, unless another one was made meanwhile.
func (ss *sessions) restorePending(key [32]byte, p *pendingTOTP) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[key]; ok && s.pending == nil {
		s.pending = p
	}
}

// setContact makes p the session's pending phone or address, in place of
// any other.
func (ss *sessions) setContact(key [32]byte, p *pendingContact) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok {
		return errNoSession
	}
	s.contact = p
	return nil
}

// takeContact detaches p from the session if it is still the pending
// phone or address, so two confirmations of one code cannot both store it.
func (ss *sessions) takeContact(key [32]byte, p *pendingContact) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok || s.contact != p {
		return false
	}
	s.contact = nil
	return true
}

// restoreContact gives back a phone or address taken by takeContact whose
// confirmation failed, unless another one was sent meanwhile.
func (ss *sessions) restoreContact(key [32]byte, p *pendingContact) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[key]; ok && s.contact == nil {
		s.contact = p
	}
}

// wrongContactCode counts a wrong code sent to the pending phone or
// address and drops it at maxConfirmTries; it reports whether it is gone.
func (ss *sessions) wrongContactCode(key [32]byte, p *pendingContact) (dropped bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[key]
	if !ok || s.contact != p {
		return true
	}
	p.tries++
	if p.tries >= maxConfirmTries {
		s.contact = nil
		return true
	}
	return false
}
