package storetest

import (
	"slices"
	"testing"
	"time"

	"radiusmfa/store"
)

func loginState(t *testing.T, s store.Store, user string) store.LoginState {
	t.Helper()
	st, err := s.LoginState(t.Context(), user)
	wantErr(t, "LoginState "+user, err, nil)
	return st
}

// LoginState agrees with GetUser, Lockout and Enrollments read one by one,
// for known and unknown names, and says when a counter is stored.
func testLoginState(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := store.LockoutPolicy{Threshold: 5, Duration: time.Minute}

	st := loginState(t, s, "nobody")
	if st.UserFound || st.LockoutFound || len(st.Enrollments) != 0 || !equalLockouts(st.Lockout, store.Lockout{}) {
		t.Fatalf("unknown name: %+v, want nothing found", st)
	}
	// An unknown name is counted like a known one.
	l := fail(t, s, "nobody", base, p)
	if st := loginState(t, s, "nobody"); st.UserFound || !st.LockoutFound || !equalLockouts(st.Lockout, l) {
		t.Fatalf("unknown name with a counter: %+v, want lockout %+v", st, l)
	}

	u := mustCreateUser(t, s, "bob")
	mustCreateUser(t, s, "bobby") // a name that extends another must not leak into it
	b2 := mustAddEnrollment(t, s, "bob", "b2")
	b1 := mustAddEnrollment(t, s, "bob", "b1")
	mustAddEnrollment(t, s, "bobby", "x")
	st = loginState(t, s, "bob")
	if !st.UserFound || !equalUsers(st.User, u) || st.LockoutFound {
		t.Fatalf("bob: user %+v found %v, counter found %v", st.User, st.UserFound, st.LockoutFound)
	}
	ids := make([]string, 0, len(st.Enrollments))
	for _, e := range st.Enrollments {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, []string{"b1", "b2"}) ||
		!equalEnrollments(st.Enrollments[0], b1) || !equalEnrollments(st.Enrollments[1], b2) {
		t.Fatalf("bob's enrollments %v, want b1 and b2 as stored (secrets opened)", ids)
	}

	l = fail(t, s, "bob", base, p)
	wantErr(t, "AdvanceCounter", s.AdvanceCounter(ctx, "bob", "b1", 9, base), nil)
	st = loginState(t, s, "bob")
	if !st.LockoutFound || !equalLockouts(st.Lockout, l) || st.Enrollments[0].Counter != 9 {
		t.Fatalf("after a failure and a used code: %+v", st)
	}
	wantErr(t, "ClearFailures", s.ClearFailures(ctx, "bob"), nil)
	if st := loginState(t, s, "bob"); st.LockoutFound || !equalLockouts(st.Lockout, store.Lockout{}) {
		t.Fatalf("after ClearFailures: counter found %v, %+v", st.LockoutFound, st.Lockout)
	}
}
