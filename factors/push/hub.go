package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"radiusmfa/auth"
)

// Refusals of Begin.
var (
	ErrTooMany     = errors.New("push: too many pending pushes")
	ErrRateLimited = errors.New("push: too many pushes for this user; try again later")
	ErrSuspended   = errors.New("push: push approval suspended for this user")
)

// Context is what the app shows about the login it is asked to approve.
type Context struct {
	User             string    `json:"user"`
	Client           string    `json:"client,omitempty"` // RADIUS client name
	NASIdentifier    string    `json:"nas_identifier,omitempty"`
	NASIPAddress     string    `json:"nas_ip_address,omitempty"`
	CallingStationID string    `json:"calling_station_id,omitempty"`
	Location         string    `json:"location,omitempty"` // of CallingStationID: "Berlin, Germany" (ServiceOptions.Locate)
	Time             time.Time `json:"time"`
	// Number is 0 without number matching, else the MinNumber-MaxNumber
	// number shown at login, never sent to the app; Choices then offers it
	// among NumChoices numbers, shuffled (Begin draws them when nil).
	Number  int   `json:"-"`
	Choices []int `json:"choices,omitempty"`
}

// Invariant: a Pending holds nothing secret, neither the device's key nor
// its subscription, and not the number to match: it is what the app is
// shown. (TestInvariantPendingHoldsNoKey, TestNumberMatching)

// Pending is a push awaiting its answer: what the app displays.
type Pending struct {
	Nonce    string    `json:"nonce"` // 16 random bytes, base64url
	User     string    `json:"user"`
	DeviceID string    `json:"device_id"`
	Context  Context   `json:"context"`
	Expires  time.Time `json:"expires"`

	entry *entry // set on the value Begin returns, for Wait
}

// Options tune a Hub. Zero fields take the defaults.
type Options struct {
	Max        int // pending pushes in all; default 20000
	MaxPerUser int // pending pushes per user; default 3
	// At most PerWindow pushes begin per user in any Window (a sliding
	// window); default 5 per 10 minutes.
	Window    time.Duration
	PerWindow int
	// SuspendAfter denied or unanswered pushes in a row suspend push for
	// the user; default 3.
	SuspendAfter int
	// ClockSkew is how far an answer's time may be from the server's;
	// default 2 minutes.
	ClockSkew time.Duration
	Now       func() time.Time // nil: time.Now; must be safe for concurrent use
	Rand      io.Reader        // nonces and number choices; nil: crypto/rand
	// OnEvent, if set, is called once for each settled push, outside the
	// Hub's lock, from the goroutine that settled it (Answer, Wait, Begin,
	// Len or the Hub's expiry timer). It should not block for long.
	OnEvent func(Event)
}

// Defaults of Options.
const (
	DefaultMax          = 20000
	DefaultMaxPerUser   = 3
	DefaultWindow       = 10 * time.Minute
	DefaultPerWindow    = 5
	DefaultSuspendAfter = 3
	DefaultClockSkew    = 2 * time.Minute
)

// Hub holds the pending pushes. Its methods are safe for concurrent use.
// A pending push costs one small entry and no goroutine: its login either
// blocks in Wait on a channel closed by whoever settles the push, or (Then)
// leaves a callback that the settling starts on a goroutine of its own.
// One timer, armed for the soonest expiry, settles the pushes whose time is
// up, whether or not anyone waits for them, and one registration per
// context (a watch) settles those whose callers' context is done.
type Hub struct {
	o Options

	mu      sync.Mutex
	byNonce map[string]*entry
	queue   expiryQueue // the pending entries, soonest expiry first
	users   map[string]*userState
	pruneAt time.Time   // next sweep of idle users
	timer   *time.Timer // fires at armedAt, the soonest expiry; nil before the first push
	armedAt time.Time
	watches map[<-chan struct{}]*watch // by the Done channel of the contexts of Then
}

// watch is the Hub's one registration with a context that callers of Then
// passed (keyed by its Done channel: contexts that share it end together).
// When the context is done, the pushes it holds are settled as unanswered.
// A server holds all its logins under one context, so a held login costs a
// map slot here, not a registration (three allocations) of its own.
type watch struct {
	done    <-chan struct{}
	stop    func() bool // ends the registration
	entries map[*entry]struct{}
}

// entry is one pending push. Its pub, a P-256 key in uncompressed form
// (kept as bytes: an entry holds few pointers for the collector to trace),
// verifies the app's answers; an entry without it (BeginLinked, pub[0] 0)
// is answered through approval links only. A login waits on its entry
// itself (as an auth.PushWait: see service.go), so a held login costs the
// entry and its callback and little else.
type entry struct {
	hub   *Hub
	p     Pending // entry field nil
	pub   [p256KeySize]byte
	index int           // in the expiry queue
	done  chan struct{} // made by the first Wait; closed when settled
	// verdict is written under the Hub's lock before done is closed; it is
	// non-zero once the push is settled.
	verdict Verdict
	// then1 and then hold the callbacks of Then, each started on a
	// goroutine of its own when the push is settled; w1 and ws are the
	// watches of the callers' contexts, which settle it when done first.
	// The first of each is kept inline (one login, one context). All are
	// cleared by settleLocked.
	then1 callback
	then  []callback
	w1    *watch
	ws    []*watch
}

// callback is a function to call with a push's verdict: a Hub's caller's
// (hub) or the engine's (eng), never both.
type callback struct {
	hub func(Verdict)
	eng func(auth.PushVerdict)
}

func (c callback) set() bool { return c.hub != nil || c.eng != nil }

func (c callback) call(v Verdict) {
	if c.hub != nil {
		c.hub(v)
		return
	}
	c.eng(engineVerdict(v))
}

// NewHub returns an empty Hub.
func NewHub(o Options) *Hub {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Max, DefaultMax)
	def(&o.MaxPerUser, DefaultMaxPerUser)
	def(&o.PerWindow, DefaultPerWindow)
	def(&o.SuspendAfter, DefaultSuspendAfter)
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = DefaultClockSkew
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return &Hub{o: o, byNonce: map[string]*entry{}, users: map[string]*userState{},
		watches: map[<-chan struct{}]*watch{}}
}

// Begin registers a push to deviceID, whose answers pub verifies, for a
// login of user described by c, to be answered within ttl. The caller
// delivers it to the device, then Waits. Refusals: ErrSuspended,
// ErrTooMany (Max in all or MaxPerUser pending for user), ErrRateLimited.
func (h *Hub) Begin(user, deviceID string, pub *ecdsa.PublicKey, c Context, ttl time.Duration) (*Pending, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, errors.New("push: device key is not ECDSA P-256")
	}
	return h.begin(user, deviceID, pub, c, ttl)
}

// begin registers a push; a nil pub makes it a push answered through
// signed links only (BeginLinked).
func (h *Hub) begin(user, deviceID string, pub *ecdsa.PublicKey, c Context, ttl time.Duration) (*Pending, error) {
	if user == "" || deviceID == "" || ttl <= 0 {
		return nil, errors.New("push: Begin needs a user, a device and a positive ttl")
	}
	if c.User != "" && c.User != user {
		return nil, fmt.Errorf("push: context of user %q for a push to %q", c.User, user)
	}
	if err := checkNumber(c.Number, c.Choices); err != nil {
		return nil, err
	}
	var key [p256KeySize]byte // zero: answered through links
	if pub != nil {
		b, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("push: device key: %w", err)
		}
		if len(b) != p256KeySize {
			return nil, fmt.Errorf("push: device key: %d bytes, want %d", len(b), p256KeySize)
		}
		copy(key[:], b)
	}
	c.User = user
	c.Choices = slices.Clone(c.Choices)
	if c.Number != 0 && c.Choices == nil {
		choices, err := drawChoices(h.o.Rand, c.Number)
		if err != nil {
			return nil, err
		}
		c.Choices = choices
	}
	var nb [16]byte
	if _, err := io.ReadFull(h.o.Rand, nb[:]); err != nil {
		return nil, fmt.Errorf("push: random nonce: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(nb[:])

	h.mu.Lock()
	now := h.o.Now()
	events := h.expireLocked(now)
	e, err := h.beginLocked(now, nonce, deviceID, &key, c, ttl)
	h.armLocked(now)
	h.mu.Unlock()
	h.emit(events)
	if err != nil {
		return nil, err
	}
	p := e.p.clone()
	p.entry = e
	return &p, nil
}

func (h *Hub) beginLocked(now time.Time, nonce, deviceID string, key *[p256KeySize]byte, c Context, ttl time.Duration) (*entry, error) {
	u := h.users[c.User]
	switch {
	case u != nil && u.suspended:
		return nil, ErrSuspended
	case len(h.byNonce) >= h.o.Max:
		return nil, ErrTooMany
	case u != nil && len(u.pending) >= h.o.MaxPerUser:
		return nil, ErrTooMany
	case u != nil && !u.mayBegin(now, h.o.Window, h.o.PerWindow):
		return nil, ErrRateLimited
	case h.byNonce[nonce] != nil:
		return nil, errors.New("push: nonce collision: random source broken")
	}
	if c.Time.IsZero() {
		c.Time = now
	}
	if u == nil {
		h.pruneUsersLocked(now)
		u = &userState{}
		h.users[c.User] = u
	}
	e := &entry{
		hub: h,
		p:   Pending{Nonce: nonce, User: c.User, DeviceID: deviceID, Context: c, Expires: now.Add(ttl)},
		pub: *key,
	}
	u.begun = append(u.begun, now)
	u.pending = append(u.pending, e)
	h.byNonce[nonce] = e
	h.queue.push(e)
	return e, nil
}

// Wait blocks until the push p is settled and returns its verdict: the
// app's answer, or TimedOut when p expires or ctx is done first (a push
// given up on counts as unanswered). p must be the value Begin returned.
// Several goroutines may wait on one push (a retransmitted request); all
// get the same verdict. The push is gone from the Hub when Wait returns.
func (h *Hub) Wait(ctx context.Context, p *Pending) Verdict {
	h.mu.Lock()
	e := h.entryLocked(p)
	h.mu.Unlock()
	if e == nil {
		return TimedOut // not ours to wait on: fail closed
	}
	return h.wait(ctx, e)
}

// wait is Wait on e.
func (h *Hub) wait(ctx context.Context, e *entry) Verdict {
	h.mu.Lock()
	if e.verdict != 0 {
		v := e.verdict
		h.mu.Unlock()
		return v
	}
	if e.done == nil {
		e.done = make(chan struct{})
	}
	done := e.done
	h.mu.Unlock()
	// The Hub's timer settles e at its expiry.
	select {
	case <-done:
	case <-ctx.Done():
		h.settle(e, TimedOut, "")
		<-done
	}
	return e.verdict
}

// entryLocked is the entry of p, the value Begin returned, or the pending
// push of p's nonce and user; nil when there is none.
func (h *Hub) entryLocked(p *Pending) *entry {
	switch {
	case p == nil:
		return nil
	case p.entry != nil:
		return p.entry
	}
	if e := h.byNonce[p.Nonce]; e != nil && e.p.User == p.User {
		return e
	}
	return nil
}

// Then arranges for fn to be called once with the verdict of p, on a
// goroutine of its own, when p is settled: by the app's answer, by its
// expiry (TimedOut), by a withdrawal (Cancelled), or TimedOut when ctx is
// done first, as Wait would return. It returns at once: a login waiting this
// way costs its callback, not a goroutine or a timer. p must be the
// value Begin returned; a p that is not pending any more gets its verdict at
// once (TimedOut when unknown: fail closed).
func (h *Hub) Then(ctx context.Context, p *Pending, fn func(Verdict)) {
	h.mu.Lock()
	e := h.entryLocked(p)
	if e == nil {
		h.mu.Unlock()
		go fn(TimedOut)
		return
	}
	h.thenLocked(ctx, e, callback{hub: fn})
}

// thenLocked is Then on e, with the Hub's lock held; it unlocks it.
func (h *Hub) thenLocked(ctx context.Context, e *entry, cb callback) {
	if v := e.verdict; v != 0 {
		h.mu.Unlock()
		go cb.call(v)
		return
	}
	if !e.then1.set() {
		e.then1 = cb
	} else {
		e.then = append(e.then, cb)
	}
	if done := ctx.Done(); done != nil {
		h.watchLocked(ctx, done, e)
	}
	h.mu.Unlock()
}

// watchLocked has e settled as unanswered when ctx, whose Done channel is
// done, is done first.
func (h *Hub) watchLocked(ctx context.Context, done <-chan struct{}, e *entry) {
	w := h.watches[done]
	if w == nil {
		w = &watch{done: done, entries: map[*entry]struct{}{}}
		h.watches[done] = w
		// Runs at once, on its own goroutine, if ctx is done already; it
		// takes the lock, so after this registration is complete.
		w.stop = context.AfterFunc(ctx, func() { h.watchDone(w) })
	}
	if _, ok := w.entries[e]; ok {
		return
	}
	w.entries[e] = struct{}{}
	if e.w1 == nil {
		e.w1 = w
	} else {
		e.ws = append(e.ws, w)
	}
}

// watchDone settles the pushes still waited for under w's context, which
// is done.
func (h *Hub) watchDone(w *watch) {
	h.mu.Lock()
	if h.watches[w.done] == w {
		delete(h.watches, w.done)
	}
	var events []Event
	for e := range w.entries { // settling removes e (and maybe others) from w
		if e.verdict == 0 {
			events = append(events, h.settleLocked(e, TimedOut, "")...)
		}
	}
	h.mu.Unlock()
	h.emit(events)
}

// unwatchLocked takes e out of its watches, ending a watch that holds no
// other push.
func (h *Hub) unwatchLocked(e *entry) {
	drop := func(w *watch) {
		delete(w.entries, e)
		if len(w.entries) == 0 && h.watches[w.done] == w {
			delete(h.watches, w.done)
			w.stop()
		}
	}
	if e.w1 != nil {
		drop(e.w1)
	}
	for _, w := range e.ws {
		drop(w)
	}
	e.w1, e.ws = nil, nil
}

// settle gives e the verdict v unless it is settled already, and reports
// whether it did. A caller of Wait that stops waiting settles it as
// unanswered (TimedOut).
func (h *Hub) settle(e *entry, v Verdict, reason string) bool {
	h.mu.Lock()
	if e.verdict != 0 {
		h.mu.Unlock()
		return false
	}
	events := h.settleLocked(e, v, reason)
	h.mu.Unlock()
	h.emit(events)
	return true
}

// Get returns the pending push of nonce if it is user's.
func (h *Hub) Get(nonce, user string) (Pending, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.byNonce[nonce]
	if e == nil || e.p.User != user || !h.o.Now().Before(e.p.Expires) {
		return Pending{}, false
	}
	return e.p.clone(), true
}

// PendingFor returns user's pending pushes, oldest first.
func (h *Hub) PendingFor(user string) []Pending {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[user]
	if u == nil {
		return nil
	}
	now := h.o.Now()
	var ps []Pending
	for _, e := range u.pending {
		if now.Before(e.p.Expires) {
			ps = append(ps, e.p.clone())
		}
	}
	return ps
}

// Len returns how many pushes are pending, after settling the expired.
func (h *Hub) Len() int {
	h.mu.Lock()
	events := h.expireLocked(h.o.Now())
	n := len(h.byNonce)
	h.mu.Unlock()
	h.emit(events)
	return n
}

// expireLocked settles the pushes whose time is up, whether or not anyone
// waits for them, so an abandoned push still counts as unanswered and
// leaves memory.
func (h *Hub) expireLocked(now time.Time) []Event {
	var events []Event
	for len(h.queue) > 0 && !now.Before(h.queue[0].p.Expires) {
		events = append(events, h.settleLocked(h.queue[0], TimedOut, "")...)
	}
	return events
}

// armLocked makes the Hub's timer fire by the soonest expiry. The timer is
// not moved later when a push is settled early: it then fires for nothing
// and is armed again for the next expiry.
func (h *Hub) armLocked(now time.Time) {
	if len(h.queue) == 0 {
		return
	}
	at := h.queue[0].p.Expires
	if !h.armedAt.IsZero() && !at.Before(h.armedAt) {
		return
	}
	h.armedAt = at
	if h.timer != nil {
		h.timer.Stop()
	}
	h.timer = time.AfterFunc(at.Sub(now), func() { h.expire(at) })
}

// expire is the timer armed for at: it settles the pushes whose time is up
// and arms the timer for the next. When this firing is the one armed last,
// at counts as reached even if Options.Now lags behind (a test's clock); a
// firing superseded by a sooner push only settles what Now says is due.
func (h *Hub) expire(at time.Time) {
	h.mu.Lock()
	now := h.o.Now()
	cut := now
	if at.Equal(h.armedAt) {
		cut = later(now, at)
		h.armedAt = time.Time{} // fired: arm again for the next
	}
	events := h.expireLocked(cut)
	h.armLocked(now)
	h.mu.Unlock()
	h.emit(events)
}

// p256KeySize is the length of an uncompressed P-256 public key.
const p256KeySize = 65

// signed reports whether e is answered by signed answers (it has a key),
// not by approval links.
func (e *entry) signed() bool { return e.pub[0] != 0 }

// key is e's device key, parsed again for each answer.
func (e *entry) key() (*ecdsa.PublicKey, error) {
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), e.pub[:])
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Invariant: a push is settled exactly once; the first of the answer, the
// expiry, the waiter giving up and a suspension wins, and every waiter sees
// that verdict. (TestInvariantSettledOnce)

// settleLocked gives e its verdict, removes it, wakes its waiters and
// applies the fatigue rules; it returns the events to emit once unlocked.
func (h *Hub) settleLocked(e *entry, v Verdict, reason string) []Event {
	u := h.users[e.p.User]
	delete(h.byNonce, e.p.Nonce)
	h.queue.remove(e)
	u.remove(e)
	e.verdict = v
	if e.done != nil {
		close(e.done)
	}
	h.unwatchLocked(e)
	if e.then1.set() {
		go e.then1.call(v)
	}
	for _, cb := range e.then {
		go cb.call(v)
	}
	e.then1, e.then = callback{}, nil
	ev := Event{User: e.p.User, DeviceID: e.p.DeviceID, Nonce: e.p.Nonce,
		Verdict: v, Reason: reason, Context: e.p.Context}
	if v == Cancelled {
		return []Event{ev}
	}
	ev.Suspended = u.count(v, h.o.SuspendAfter)
	events := []Event{ev}
	if ev.Suspended {
		for _, other := range slices.Clone(u.pending) {
			events = append(events, h.settleLocked(other, Cancelled, ReasonSuspended)...)
		}
	}
	return events
}

func (h *Hub) emit(events []Event) {
	if h.o.OnEvent == nil {
		return
	}
	for _, ev := range events {
		h.o.OnEvent(ev)
	}
}

// clone returns a copy of p that shares no slice with it.
func (p Pending) clone() Pending {
	p.Context.Choices = slices.Clone(p.Context.Choices)
	p.entry = nil
	return p
}

// Cancel ends p without a verdict of the user's (the push could not be
// delivered): its waiters get Cancelled, which counts toward no fatigue
// rule.
func (h *Hub) Cancel(p *Pending) {
	if p == nil || p.entry == nil {
		return
	}
	h.settle(p.entry, Cancelled, ReasonUndelivered)
}

// Withdraw cancels every push pending for user (their phone was disabled
// or removed, their account locked, their enrollment reset): the waiting
// logins end at once, Cancelled, and no later answer can approve them. It
// returns how many it cancelled.
func (h *Hub) Withdraw(user string) int {
	h.mu.Lock()
	var events []Event
	if u := h.users[user]; u != nil {
		for _, e := range slices.Clone(u.pending) {
			events = append(events, h.settleLocked(e, Cancelled, ReasonWithdrawn)...)
		}
	}
	h.mu.Unlock()
	h.emit(events)
	return len(events)
}
