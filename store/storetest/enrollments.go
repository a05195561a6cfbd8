package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"radiusmfa/store"
)

// Every field of an enrollment reads back as added, through Enrollments and
// LoginState alike: a device's settings and a bypass code's expiry, use
// limit and creator.
func testEnrollmentRoundTrip(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	totp := store.Enrollment{
		ID: "e1", User: "alice", Kind: "totp", Label: "work phone",
		Secret: []byte{0x00, 0xff, 0x10, 'a', 0x00, 0x80}, // binary, with NULs
		Digits: 8, Algorithm: "SHA256", Period: 60, Counter: 3,
		Disabled: true, CreatedAt: base, LastUsedAt: base.Add(-1), Preferred: true,
	}
	bypass := store.Enrollment{
		ID: "e2", User: "alice", Kind: "bypass", Label: "lost phone",
		Secret: []byte("bypass code hash"), Counter: 1, CreatedAt: base, LastUsedAt: base,
		ExpiresAt: base.Add(8 * time.Hour), MaxUses: 3, CreatedBy: "helpdesk Ünïcode",
	}
	for _, e := range []store.Enrollment{totp, bypass} {
		wantErr(t, "AddEnrollment "+e.ID, s.AddEnrollment(t.Context(), e), nil)
	}
	checkEnrollmentsEverywhere(t, s, "alice", totp, bypass)
}

// checkEnrollmentsEverywhere reads user's enrollments through Enrollments and
// LoginState and fails unless each gives exactly want, in id order.
func checkEnrollmentsEverywhere(t *testing.T, s store.Store, user string, want ...store.Enrollment) {
	t.Helper()
	list, err := s.Enrollments(t.Context(), user)
	wantErr(t, "Enrollments "+user, err, nil)
	if !slices.EqualFunc(list, want, equalEnrollments) {
		t.Errorf("Enrollments(%s):\n got %+v\nwant %+v", user, list, want)
	}
	if st := loginState(t, s, user); !slices.EqualFunc(st.Enrollments, want, equalEnrollments) {
		t.Errorf("LoginState(%s) enrollments:\n got %+v\nwant %+v", user, st.Enrollments, want)
	}
}

func testAddEnrollmentUnknownUser(t *testing.T, s store.Store) {
	err := s.AddEnrollment(t.Context(), store.Enrollment{ID: "e1", User: "ghost", Kind: "totp"})
	wantErr(t, "AddEnrollment", err, store.ErrNotFound)
}

func testAddEnrollmentExists(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	first := mustAddEnrollment(t, s, "alice", "e1")
	dup := first
	dup.Secret = []byte("another secret")
	wantErr(t, "second AddEnrollment", s.AddEnrollment(t.Context(), dup), store.ErrExists)
	if got := enrollment(t, s, "alice", "e1"); !bytes.Equal(got.Secret, first.Secret) {
		t.Error("a refused AddEnrollment replaced the secret")
	}
}

func testEnrollmentsPerUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "bob")
	mustCreateUser(t, s, "bobby") // a name that extends another must not leak into it
	mustAddEnrollment(t, s, "bob", "b2")
	mustAddEnrollment(t, s, "bob", "b1")
	mustAddEnrollment(t, s, "bobby", "x")

	list, err := s.Enrollments(ctx, "bob")
	wantErr(t, "Enrollments bob", err, nil)
	var ids []string
	for _, e := range list {
		ids = append(ids, e.ID)
		if e.User != "bob" || !bytes.Equal(e.Secret, []byte("secret of bob/"+e.ID)) {
			t.Errorf("enrollment %s: user %q, wrong secret %v", e.ID, e.User, e.Secret == nil)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"b1", "b2"}) {
		t.Errorf("Enrollments(bob) ids = %v, want [b1 b2]", ids)
	}

	list, err = s.Enrollments(ctx, "nobody")
	wantErr(t, "Enrollments unknown user", err, nil)
	if len(list) != 0 {
		t.Errorf("unknown user has %d enrollments", len(list))
	}
}

func testDeleteEnrollment(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	mustAddEnrollment(t, s, "alice", "e1")
	mustAddEnrollment(t, s, "alice", "e2")
	wantErr(t, "DeleteEnrollment", s.DeleteEnrollment(ctx, "alice", "e1"), nil)
	wantErr(t, "second DeleteEnrollment", s.DeleteEnrollment(ctx, "alice", "e1"), store.ErrNotFound)
	wantErr(t, "DeleteEnrollment unknown user", s.DeleteEnrollment(ctx, "ghost", "e2"), store.ErrNotFound)
	list, err := s.Enrollments(ctx, "alice")
	wantErr(t, "Enrollments", err, nil)
	if len(list) != 1 || list[0].ID != "e2" {
		t.Errorf("after delete: %d enrollments", len(list))
	}
	// The id is free again, and the new enrollment starts from its own counter.
	mustAddEnrollment(t, s, "alice", "e1")
}

func equalEnrollments(a, b store.Enrollment) bool {
	return a.ID == b.ID && a.User == b.User && a.Kind == b.Kind && a.Label == b.Label &&
		bytes.Equal(a.Secret, b.Secret) && a.Digits == b.Digits && a.Algorithm == b.Algorithm &&
		a.Period == b.Period && a.Counter == b.Counter && a.Disabled == b.Disabled &&
		a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt) &&
		a.Preferred == b.Preferred && a.ExpiresAt.Equal(b.ExpiresAt) && a.MaxUses == b.MaxUses &&
		a.CreatedBy == b.CreatedBy
}

func testAddFirstEnrollment(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	mustCreateUser(t, s, "alic") // a name that is a prefix of another must not count
	first := store.Enrollment{ID: "e1", User: "alice", Kind: "totp", Secret: []byte("s1")}
	wantErr(t, "AddFirstEnrollment", s.AddFirstEnrollment(t.Context(), first), nil)
	second := store.Enrollment{ID: "e2", User: "alice", Kind: "totp", Secret: []byte("s2")}
	wantErr(t, "second AddFirstEnrollment", s.AddFirstEnrollment(t.Context(), second), store.ErrExists)
	if es, err := s.Enrollments(t.Context(), "alice"); err != nil || len(es) != 1 {
		t.Fatalf("enrollments after a refused AddFirstEnrollment: %d, %v", len(es), err)
	}
	wantErr(t, "AddFirstEnrollment for alic", s.AddFirstEnrollment(t.Context(),
		store.Enrollment{ID: "e1", User: "alic", Kind: "totp", Secret: []byte("s3")}), nil)
	wantErr(t, "AddFirstEnrollment for a ghost", s.AddFirstEnrollment(t.Context(),
		store.Enrollment{ID: "e1", User: "ghost", Kind: "totp"}), store.ErrNotFound)
}
