package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// fakePrimary counts calls so tests can assert one primary check per attempt.
type fakePrimary struct {
	mu    sync.Mutex
	users map[string]string // name → password
	calls []string          // passwords seen
	err   error
}

func (f *fakePrimary) Authenticate(_ context.Context, name, pw string) (Identity, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, pw)
	if f.err != nil {
		return Identity{}, false, f.err
	}
	want, ok := f.users[name]
	if !ok {
		return Identity{}, false, nil
	}
	return Identity{Name: name}, pw == want, nil
}

// fakeFactor accepts "111111" once per enrollment and reports replays.
type fakeFactor struct{ used map[string]bool }

func (*fakeFactor) Kind() string { return "totp" }
func (f *fakeFactor) Verify(_ context.Context, e store.Enrollment, code string) error {
	if code != "111111" {
		return factors.ErrInvalidCode
	}
	if f.used[e.ID] {
		return factors.ErrReplayed
	}
	f.used[e.ID] = true
	return nil
}

type memStore struct {
	mu       sync.Mutex
	users    map[string]store.User
	enrolled map[string][]store.Enrollment
	locks    map[string]store.Lockout
	reads    int // LoginState calls
	clears   int // ClearFailures calls
	writes   int // CreateUser and UpdateUser calls
}

func (m *memStore) LoginState(_ context.Context, u string) (store.LoginState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	user, found := m.users[u]
	l, counted := m.locks[u]
	return store.LoginState{User: user, UserFound: found, Lockout: l, LockoutFound: counted,
		Enrollments: m.enrolled[u]}, nil
}
func (m *memStore) RecordFailure(_ context.Context, u string, at time.Time, p store.LockoutPolicy) (store.Lockout, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.locks[u] = p.Count(m.locks[u], at)
	return m.locks[u], nil
}
func (m *memStore) CreateUser(_ context.Context, u store.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.users == nil {
		m.users = map[string]store.User{}
	}
	if _, ok := m.users[u.Name]; ok {
		return store.ErrExists
	}
	m.users[u.Name] = u
	m.writes++
	return nil
}
func (m *memStore) UpdateUser(_ context.Context, name string, fn func(*store.User) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[name]
	if !ok {
		return store.ErrNotFound
	}
	if err := fn(&u); err != nil {
		return err
	}
	m.users[name] = u
	m.writes++
	return nil
}
func (m *memStore) ClearFailures(_ context.Context, u string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clears++
	delete(m.locks, u)
	return nil
}

type fixture struct {
	e       *Engine
	primary *fakePrimary
	store   *memStore
	now     time.Time
}

func newFixture(t *testing.T, p Policy) *fixture {
	t.Helper()
	fx := &fixture{
		primary: &fakePrimary{users: map[string]string{"alice": "pa,ss", "nofactor": "pw"}},
		store: &memStore{
			enrolled: map[string][]store.Enrollment{"alice": {{ID: "a1", User: "alice", Kind: "totp"}}},
			locks:    map[string]store.Lockout{},
		},
		now: time.Unix(1_700_000_000, 0),
	}
	if p.Lockout.Threshold == 0 {
		p.Lockout = store.LockoutPolicy{Threshold: 3, Duration: time.Minute}
	}
	if p.EnrollMessage == "" {
		p.EnrollMessage = "enroll first"
	}
	fx.e = NewEngine(fx.primary, fx.store, []factors.Factor{&fakeFactor{used: map[string]bool{}}}, p, func() time.Time { return fx.now })
	return fx
}

func (fx *fixture) decide(user, pw string) Decision {
	return fx.e.Decide(context.Background(), Request{UserName: user, Password: pw})
}

func TestDecide(t *testing.T) {
	fx := newFixture(t, Policy{})
	steps := []struct {
		user, pw string
		outcome  Outcome
		reason   Reason
	}{
		{"alice", "pa,ss,111111", Accept, ReasonOK},
		{"alice", "pa,ss,111111", Reject, ReasonReplayedPasscode},
		{"alice", "pa,ss,222222", Reject, ReasonBadPasscode},
		{"Alice", "pa,ss", Reject, ReasonPasscodeRequired},
	}
	for i, s := range steps {
		d := fx.decide(s.user, s.pw)
		if d.Outcome != s.outcome || d.Reason != s.reason {
			t.Fatalf("step %d (%s): got %v/%s, want %v/%s", i, s.pw, d.Outcome, d.Reason, s.outcome, s.reason)
		}
		if d.Outcome == Reject && d.Message != MsgFailed && d.Message != MsgLocked {
			t.Fatalf("step %d: message %q", i, d.Message)
		}
	}
}

// Invariant: one primary check per attempt, with the password split once.
func TestInvariantOnePrimaryCheckPerAttempt(t *testing.T) {
	fx := newFixture(t, Policy{})
	for _, pw := range []string{"pa,ss,111111", "pa,ss,999999", "wrong,123456", "pa,ss"} {
		fx.primary.calls = nil
		fx.decide("alice", pw)
		if len(fx.primary.calls) != 1 {
			t.Fatalf("%q: %d primary checks (%q), want 1", pw, len(fx.primary.calls), fx.primary.calls)
		}
	}
	if got := fx.primary.calls[0]; got != "pa,ss" {
		t.Fatalf("password without passcode checked as %q, want the whole input", got)
	}
}

// Invariant: an unknown user and a wrong password give the same reply.
func TestInvariantUnknownUserLikeWrongPassword(t *testing.T) {
	fx := newFixture(t, Policy{})
	a := fx.decide("alice", "wrong,111111")
	b := fx.decide("mallory", "wrong,111111")
	if a.Outcome != b.Outcome || a.Message != b.Message || a.Reason != b.Reason {
		t.Fatalf("wrong password %+v differs from unknown user %+v", a, b)
	}
	if fx.store.locks["mallory"].Failures != 1 {
		t.Fatal("failure of an unknown name not counted like a known one")
	}
}

func TestLockout(t *testing.T) {
	fx := newFixture(t, Policy{})
	for i := 0; i < 3; i++ {
		fx.decide("alice", "wrong,111111")
	}
	d := fx.decide("alice", "pa,ss,111111")
	if d.Outcome != Reject || d.Reason != ReasonLockedOut || d.Message != MsgLocked {
		t.Fatalf("locked account: got %+v", d)
	}
	if len(fx.store.enrolled["alice"]) != 1 || fx.e.factors["totp"].(*fakeFactor).used["a1"] {
		t.Fatal("a locked account burned a code")
	}
	fx.now = fx.now.Add(2 * time.Minute)
	if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Accept {
		t.Fatalf("after the lock expired: got %+v", d)
	}
	if _, still := fx.store.locks["alice"]; still {
		t.Fatal("accept did not clear the failure counter")
	}
	// Wrong codes count too.
	for i := 0; i < 3; i++ {
		fx.decide("alice", "pa,ss,000000")
	}
	if d := fx.decide("alice", "pa,ss,111111"); d.Reason != ReasonLockedOut {
		t.Fatalf("wrong codes did not lock: %+v", d)
	}
}

func TestUnenrolled(t *testing.T) {
	fx := newFixture(t, Policy{})
	d := fx.decide("nofactor", "pw")
	if d.Outcome != Reject || d.Reason != ReasonNotEnrolled || d.Message != "enroll first" {
		t.Fatalf("reject policy: %+v", d)
	}
	if d := fx.decide("nofactor", "wrong"); d.Reason != ReasonBadCredentials {
		t.Fatalf("wrong password of an unenrolled user: %+v", d)
	}
	fx = newFixture(t, Policy{MFA: ModeOptional})
	if d := fx.decide("nofactor", "pw"); d.Outcome != Accept || d.Reason != ReasonNoFactorAllowed {
		t.Fatalf("allow policy: %+v", d)
	}
	// Enrolled users still need their code under the allow policy.
	if d := fx.decide("alice", "pa,ss"); d.Outcome != Reject {
		t.Fatalf("allow policy let an enrolled user in without a code: %+v", d)
	}
	// A user whose only device is disabled, or of a kind this server does
	// not run, is still enrolled: no fallback to the password alone.
	fx.store.enrolled["alice"][0].Disabled = true
	if d := fx.decide("alice", "pa,ss"); d.Outcome != Reject || d.Reason != ReasonNoUsableFactor {
		t.Fatalf("disabled device: %+v", d)
	}
	fx.store.enrolled["alice"][0] = store.Enrollment{ID: "p1", User: "alice", Kind: "push"}
	if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Reject || d.Reason != ReasonNoUsableFactor {
		t.Fatalf("device of an unconfigured kind: %+v", d)
	}
}

// slowPrimary holds every check until released, so attempts overlap.
type slowPrimary struct {
	fakePrimary
	gate chan struct{}
}

func (s *slowPrimary) Authenticate(ctx context.Context, name, pw string) (Identity, bool, error) {
	<-s.gate
	return s.fakePrimary.Authenticate(ctx, name, pw)
}

// Parallel guesses must not overrun the lockout budget: attempts in
// progress count against it.
func TestLockoutHoldsUnderParallelGuesses(t *testing.T) {
	fx := newFixture(t, Policy{})
	slow := &slowPrimary{fakePrimary: fakePrimary{users: map[string]string{"alice": "pa,ss"}}, gate: make(chan struct{})}
	fx.e.primary = slow
	const n = 50
	results := make(chan Decision, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- fx.decide("alice", "guess,123456")
		}()
	}
	// Let every attempt register (or, over the budget, be refused before
	// reaching the directory) before any check completes.
	for fx.inProgress("alice")+len(results) < n {
		time.Sleep(time.Millisecond)
	}
	close(slow.gate)
	wg.Wait()
	close(results)
	counts := map[Reason]int{}
	for d := range results {
		counts[d.Reason]++
	}
	if counts[ReasonBadCredentials] != 3 || counts[ReasonLockedOut] != n-3 {
		t.Fatalf("with threshold 3, %d parallel guesses gave %v", n, counts)
	}
	// An external directory is asked only within the budget: each ask
	// would be a failed bind toward its own lockout.
	if len(slow.calls) != 3 {
		t.Errorf("the directory was asked %d times, want 3", len(slow.calls))
	}
	if fx.inProgress("alice") != 0 {
		t.Fatal("attempt counter leaked")
	}
}

func (fx *fixture) inProgress(name string) int {
	fx.e.active.mu.Lock()
	defer fx.e.active.mu.Unlock()
	return fx.e.active.n[name]
}

func TestBrokenAndBadInput(t *testing.T) {
	fx := newFixture(t, Policy{})
	if d := fx.decide("", "x"); d.Reason != ReasonInvalidRequest {
		t.Fatalf("empty user: %+v", d)
	}
	fx.primary.calls = nil
	if d := fx.decide("alice", ",123456"); d.Reason != ReasonBadCredentials || len(fx.primary.calls) != 0 {
		t.Fatalf("empty password reached the directory: %+v, %d calls", d, len(fx.primary.calls))
	}
	fx.primary.err = errors.New("ldap: connection refused")
	if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Reject || d.Reason != ReasonDirectoryUnavailable || d.Err == nil {
		t.Fatalf("directory down must fail closed and keep the cause: %+v", d)
	}
	fx.primary.err = ErrOverloaded
	if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Drop {
		t.Fatalf("overload: %+v", d)
	}
}

// An empty password is refused without a guess being counted, so nobody can
// create lockout counters or extend locks for free.
func TestEmptyPasswordNotCounted(t *testing.T) {
	fx := newFixture(t, Policy{})
	for i := 0; i < 5; i++ {
		if d := fx.decide("alice", ",123456"); d.Outcome != Reject || d.Message != MsgFailed {
			t.Fatalf("empty password: %+v", d)
		}
	}
	if l := fx.store.locks["alice"]; l.Failures != 0 {
		t.Fatalf("empty passwords counted: %+v", l)
	}
}

// After a correct password, a user whose devices cannot be used gets the
// generic failure: the reply must not confirm the password.
func TestNoUsableFactorGivesGenericReply(t *testing.T) {
	fx := newFixture(t, Policy{})
	fx.store.enrolled["alice"][0].Disabled = true
	right := fx.decide("alice", "pa,ss,111111")
	wrong := fx.decide("alice", "wrong,111111")
	if right.Reason != ReasonNoUsableFactor || right.Message != wrong.Message || right.Outcome != wrong.Outcome {
		t.Fatalf("right password %+v is told apart from a wrong one %+v", right, wrong)
	}
}

// upgrader records the upgrades the engine asks for.
type upgrader struct {
	fakePrimary
	asked chan string
}

func (*upgrader) NeedsUpgrade(store.User) bool { return true }
func (u *upgrader) UpgradePassword(_ context.Context, _ store.User, pw string) {
	u.asked <- pw
}

func TestPasswordUpgradeOnlyAfterAccept(t *testing.T) {
	fx := newFixture(t, Policy{})
	up := &upgrader{fakePrimary: fakePrimary{users: map[string]string{"alice": "pa,ss"}}, asked: make(chan string, 4)}
	fx.e.primary = up
	fx.decide("alice", "pa,ss,999999") // right password, wrong code
	fx.decide("alice", "wrong,111111")
	select {
	case pw := <-up.asked:
		t.Fatalf("upgrade asked without an accept (%q)", pw)
	case <-time.After(50 * time.Millisecond):
	}
	if d := fx.decide("alice", "pa,ss,111111"); d.Outcome != Accept {
		t.Fatalf("accept: %+v", d)
	}
	select {
	case pw := <-up.asked:
		if pw != "pa,ss" {
			t.Fatalf("upgrade got %q, want the password without the code", pw)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no upgrade after an accept")
	}
}
