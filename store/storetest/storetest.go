// Package storetest is the conformance suite every store.Store backend
// passes. A backend's own test calls Run with a function that opens a fresh,
// empty store, and RunPersistent with one that opens the store kept in a
// directory, so both the contract and its durability are checked the same way
// for every backend.
package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"radiusmfa/store"
)

// Audit retention the suite expects: open must configure the store to keep
// at most AuditMaxRecords records and none older than AuditMaxAge, measured
// on the wall clock.
const (
	AuditMaxRecords = 20
	AuditMaxAge     = 24 * time.Hour
)

// base is the suite's fixed clock reading, in whole seconds so a backend
// that stores coarser times still compares equal.
var base = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// Run checks the whole store.Store contract. open returns a new, empty store
// configured with the audit retention above; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CreateAndGetUser", testCreateAndGetUser},
		{"CreateUserExists", testCreateUserExists},
		{"GetUserNotFound", testGetUserNotFound},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserErrorAborts", testUpdateUserErrorAborts},
		{"UpdateUserNotFound", testUpdateUserNotFound},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"ListUsersSorted", testListUsersSorted},
		{"UserDirectoryProfile", testUserDirectoryProfile},
		{"EnrollmentRoundTrip", testEnrollmentRoundTrip},
		{"AddEnrollmentUnknownUser", testAddEnrollmentUnknownUser},
		{"AddEnrollmentExists", testAddEnrollmentExists},
		{"AddFirstEnrollment", testAddFirstEnrollment},
		{"EnrollmentsPerUser", testEnrollmentsPerUser},
		{"DeleteEnrollment", testDeleteEnrollment},
		{"AdvanceCounter", testAdvanceCounter},
		{"AdvanceCounterFromInitial", testAdvanceCounterFromInitial},
		{"AdvanceCounterNotFound", testAdvanceCounterNotFound},
		{"AdvanceCounterKeepsRecord", testAdvanceCounterKeepsRecord},
		{"AdvanceCounterRaceSameCode", testAdvanceCounterRaceSameCode},
		{"AdvanceCounterConcurrentEnrollments", testAdvanceCounterConcurrentEnrollments},
		{"UpdateEnrollment", testUpdateEnrollment},
		{"UpdateEnrollmentRefusesIdentity", testUpdateEnrollmentRefusesIdentity},
		{"UpdateEnrollmentErrorAborts", testUpdateEnrollmentErrorAborts},
		{"UpdateEnrollmentNotFound", testUpdateEnrollmentNotFound},
		{"UpdateEnrollmentConcurrent", testUpdateEnrollmentConcurrent},
		{"LockoutThreshold", testLockoutThreshold},
		{"LockoutExpiry", testLockoutExpiry},
		{"LockoutUntilCleared", testLockoutUntilCleared},
		{"LockoutDisabled", testLockoutDisabled},
		{"ClearFailures", testClearFailures},
		{"PruneLockouts", testPruneLockouts},
		{"LoginState", testLoginState},
		{"SettingsZero", testSettingsZero},
		{"SettingsRoundTrip", testSettingsRoundTrip},
		{"UpdateSettingsErrorAborts", testUpdateSettingsErrorAborts},
		{"ServerSecretNotFound", testServerSecretNotFound},
		{"ServerSecretPutIfAbsent", testServerSecretPutIfAbsent},
		{"ServerSecretConcurrentFirstRuns", testServerSecretConcurrentFirstRuns},
		{"ServerSecretInvalid", testServerSecretInvalid},
		{"ServerSecretClosed", testServerSecretClosed},
		{"AuditAppendAndRecent", testAuditAppendAndRecent},
		{"AuditStampsTime", testAuditStampsTime},
		{"AuditPrunesByCount", testAuditPrunesByCount},
		{"AuditPrunesByAge", testAuditPrunesByAge},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

// RunPersistent checks that what a store acknowledged survives a Close and a
// reopen of the same directory; above all that a used code stays used after
// a restart. open must open (creating on first use) the store kept in dir.
func RunPersistent(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Helper()
	t.Run("ReopenKeepsState", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		mustCreateUser(t, s, "alice")
		bob := store.User{Name: "bob", CreatedAt: base, UpdatedAt: base, Directory: "ldap",
			Profile: store.Profile{DisplayName: "Bob", Mail: "bob@example.org", Phone: "+1 555 0100"}}
		wantErr(t, "CreateUser bob", s.CreateUser(t.Context(), bob), nil)
		want := mustAddEnrollment(t, s, "alice", "e1")
		wantErr(t, "AdvanceCounter", s.AdvanceCounter(t.Context(), "alice", "e1", 7, base), nil)
		_, err := s.RecordFailure(t.Context(), "alice", base, store.LockoutPolicy{Threshold: 5})
		wantErr(t, "RecordFailure", err, nil)
		wantErr(t, "AppendAudit", s.AppendAudit(t.Context(), auditRecord(0)), nil)
		wantErr(t, "Close", s.Close(), nil)

		s = open(t, dir)
		defer s.Close()
		err = s.AdvanceCounter(t.Context(), "alice", "e1", 7, base)
		wantErr(t, "replay after reopen", err, store.ErrReplay)
		got := enrollment(t, s, "alice", "e1")
		if got.Counter != 7 || !bytes.Equal(got.Secret, want.Secret) {
			t.Errorf("after reopen: counter %d, secret intact %v", got.Counter, bytes.Equal(got.Secret, want.Secret))
		}
		if l := lockoutOf(t, s, "alice"); l.Failures != 1 {
			t.Errorf("after reopen: %d failures, want 1", l.Failures)
		}
		if recs := recent(t, s, 10); len(recs) != 1 {
			t.Errorf("after reopen: %d audit records, want 1", len(recs))
		}
		if u, err := s.GetUser(t.Context(), "bob"); err != nil || !equalUsers(u, bob) {
			t.Errorf("after reopen: bob is %+v, %v, want %+v", u, err, bob)
		}
		wantErr(t, "AdvanceCounter after reopen", s.AdvanceCounter(t.Context(), "alice", "e1", 8, base), nil)
		// Sequences continue rather than restart and overwrite.
		wantErr(t, "AppendAudit after reopen", s.AppendAudit(t.Context(), auditRecord(1)), nil)
		if recs := recent(t, s, 10); len(recs) != 2 || recs[1].Seq <= recs[0].Seq {
			t.Errorf("after reopen: audit %+v, want two records in order", recs)
		}
	})
	t.Run("ReopenKeepsUpdatesAndSettings", func(t *testing.T) {
		ctx := t.Context()
		dir := t.TempDir()
		s := open(t, dir)
		mustCreateUser(t, s, "alice")
		totp := mustAddEnrollment(t, s, "alice", "e1")
		bypass := store.Enrollment{ID: "e2", User: "alice", Kind: "bypass", Secret: []byte("code hash"),
			CreatedAt: base, ExpiresAt: base.Add(time.Hour), MaxUses: 3, CreatedBy: "helpdesk"}
		wantErr(t, "AddEnrollment", s.AddEnrollment(ctx, bypass), nil)
		wantErr(t, "UpdateEnrollment", s.UpdateEnrollment(ctx, "alice", "e1", func(e *store.Enrollment) error {
			e.Label, e.Preferred, e.Disabled = "renamed", true, true
			return nil
		}), nil)
		totp.Label, totp.Preferred, totp.Disabled = "renamed", true, true
		wantErr(t, "UpdateEnrollment", s.UpdateEnrollment(ctx, "alice", "e2", func(e *store.Enrollment) error {
			e.Counter, e.LastUsedAt, e.MaxUses = 1, base, 2
			return nil
		}), nil)
		bypass.Counter, bypass.LastUsedAt, bypass.MaxUses = 1, base, 2
		wantErr(t, "UpdateSettings", s.UpdateSettings(ctx, func(st *store.Settings) error {
			*st = fullSettings()
			return nil
		}), nil)
		wantErr(t, "Close", s.Close(), nil)

		s = open(t, dir)
		defer s.Close()
		checkEnrollmentsEverywhere(t, s, "alice", totp, bypass)
		if got := settingsOf(t, s); !equalSettings(got, fullSettings()) {
			t.Errorf("after reopen: settings %+v\nwant %+v", got, fullSettings())
		}
	})
	t.Run("ReopenKeepsServerSecrets", func(t *testing.T) {
		testServerSecretReopen(t, open)
	})
}

func testClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	mustAddEnrollment(t, s, "alice", "e1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetUser after Close: got %v, want ErrClosed", err)
	}
	if err := s.CreateUser(ctx, store.User{Name: "bob"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CreateUser after Close: got %v, want ErrClosed", err)
	}
	err := s.AdvanceCounter(ctx, "alice", "e1", 1, base)
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("AdvanceCounter after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.LoginState(ctx, "alice"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("LoginState after Close: got %v, want ErrClosed", err)
	}
	called := false
	err = s.UpdateEnrollment(ctx, "alice", "e1", func(*store.Enrollment) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrClosed) || called {
		t.Errorf("UpdateEnrollment after Close: got %v (fn called: %v), want ErrClosed", err, called)
	}
	if _, err := s.Settings(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Settings after Close: got %v, want ErrClosed", err)
	}
	called = false
	err = s.UpdateSettings(ctx, func(*store.Settings) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrClosed) || called {
		t.Errorf("UpdateSettings after Close: got %v (fn called: %v), want ErrClosed", err, called)
	}
}

// wantErr fails unless err matches target (nil target: err must be nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func mustCreateUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	u := store.User{Name: name, Roles: []string{"user"}, CreatedAt: base, UpdatedAt: base}
	wantErr(t, "CreateUser "+name, s.CreateUser(t.Context(), u), nil)
	return u
}

func mustAddEnrollment(t *testing.T, s store.Store, user, id string) store.Enrollment {
	t.Helper()
	e := store.Enrollment{
		ID: id, User: user, Kind: "totp", Label: "phone " + id,
		Secret: []byte("secret of " + user + "/" + id), Digits: 6,
		Algorithm: "SHA1", Period: 30, CreatedAt: base,
	}
	wantErr(t, "AddEnrollment "+user+"/"+id, s.AddEnrollment(t.Context(), e), nil)
	return e
}

// enrollment returns the stored enrollment id of user, failing if absent.
func enrollment(t *testing.T, s store.Store, user, id string) store.Enrollment {
	t.Helper()
	list, err := s.Enrollments(t.Context(), user)
	wantErr(t, "Enrollments "+user, err, nil)
	for _, e := range list {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("enrollment %s/%s not found among %d", user, id, len(list))
	return store.Enrollment{}
}
