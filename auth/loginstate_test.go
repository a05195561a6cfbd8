package auth

import (
	"context"
	"testing"

	"radiusmfa/store"
)

// recordPrimary is a directory kept in the store: it checks the record the
// engine hands over (PasswordHash holds the password in clear here) and
// must never be asked through Authenticate, which would read it again.
type recordPrimary struct {
	fakePrimary
	got []recordCall
}

type recordCall struct {
	name   string
	user   store.User
	exists bool
}

var _ RecordAuthenticator = (*recordPrimary)(nil)

func (r *recordPrimary) AuthenticateRecord(_ context.Context, name, pw string, u store.User, exists bool) (Identity, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, recordCall{name, u, exists})
	if !exists {
		return Identity{}, false, nil
	}
	if u.Disabled {
		return Identity{Name: u.Name, Disabled: true}, false, nil
	}
	return Identity{Name: u.Name}, pw == u.PasswordHash, nil
}

func newRecordFixture(t *testing.T, p Policy) (*fixture, *recordPrimary) {
	t.Helper()
	fx := newFixture(t, p)
	fx.store.users = map[string]store.User{
		"alice":    {Name: "alice", PasswordHash: "pa,ss"},
		"nofactor": {Name: "nofactor", PasswordHash: "pw"},
		"dis":      {Name: "dis", PasswordHash: "pw", Disabled: true},
	}
	rp := &recordPrimary{}
	fx.e.primary = rp
	return fx, rp
}

// A directory kept in the store checks the record of the attempt's one
// snapshot, once, and an unknown name reaches it as "no such user" on the
// same path as a wrong password.
func TestRecordAuthenticatorGetsTheSnapshot(t *testing.T) {
	fx, rp := newRecordFixture(t, Policy{})
	steps := []struct {
		user, pw string
		exists   bool
		outcome  Outcome
		reason   Reason
	}{
		{"alice", "pa,ss,111111", true, Accept, ReasonOK},
		{"alice", "wrong,111111", true, Reject, ReasonBadCredentials},
		{"mallory", "wrong,111111", false, Reject, ReasonBadCredentials},
		{"dis", "pw,111111", true, Reject, ReasonAccountDisabled},
		{"nofactor", "pw", true, Reject, ReasonNotEnrolled},
	}
	for i, s := range steps {
		rp.got = nil
		d := fx.decide(s.user, s.pw)
		if d.Outcome != s.outcome || d.Reason != s.reason {
			t.Fatalf("step %d (%s/%s): got %v/%s, want %v/%s", i, s.user, s.pw, d.Outcome, d.Reason, s.outcome, s.reason)
		}
		if len(rp.got) != 1 || len(rp.calls) != 0 {
			t.Fatalf("step %d: %d record checks and %d reads of its own, want 1 and 0", i, len(rp.got), len(rp.calls))
		}
		if c := rp.got[0]; c.name != s.user || c.exists != s.exists || (s.exists && c.user.Name != s.user) {
			t.Fatalf("step %d: directory got %+v", i, c)
		}
	}
	a := fx.decide("alice", "wrong,111111")
	b := fx.decide("mallory", "wrong,111111")
	if a.Outcome != b.Outcome || a.Message != b.Message || a.Reason != b.Reason {
		t.Fatalf("wrong password %+v differs from unknown user %+v", a, b)
	}
}

// Invariant: an attempt reads the store once, whatever its outcome.
func TestInvariantOneStateReadPerAttempt(t *testing.T) {
	for _, record := range []bool{false, true} {
		fx := newFixture(t, Policy{})
		if record {
			fx, _ = newRecordFixture(t, Policy{})
		}
		for _, a := range [][2]string{
			{"alice", "pa,ss,111111"}, {"alice", "pa,ss,111111"}, {"alice", "pa,ss,000000"},
			{"alice", "pa,ss"}, {"mallory", "x,111111"}, {"alice", "wrong,1"}, {"alice", "pa,ss,111111"},
		} {
			before := fx.store.reads
			d := fx.decide(a[0], a[1])
			if got := fx.store.reads - before; got != 1 {
				t.Fatalf("record=%v %s/%s (%s): %d state reads, want 1", record, a[0], a[1], d.Reason, got)
			}
		}
	}
}

// An accept writes to the lockout counter only when the snapshot held one.
func TestAcceptClearsOnlyACountedName(t *testing.T) {
	fx, _ := newRecordFixture(t, Policy{MFA: ModeOptional})
	if d := fx.decide("nofactor", "pw"); d.Outcome != Accept || fx.store.clears != 0 {
		t.Fatalf("accept without a counter: %+v, %d clears", d, fx.store.clears)
	}
	fx.decide("nofactor", "wrong")
	if d := fx.decide("nofactor", "pw"); d.Outcome != Accept || fx.store.clears != 1 {
		t.Fatalf("accept after a failure: %+v, %d clears", d, fx.store.clears)
	}
	if _, still := fx.store.locks["nofactor"]; still {
		t.Fatal("accept did not clear the failure counter")
	}
}
