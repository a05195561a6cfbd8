package storetest

import (
	"errors"
	"slices"
	"testing"

	"radiusmfa/store"
)

func testCreateAndGetUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := store.User{
		Name: "alice", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		Roles: []string{"admin", "user"}, Disabled: true, CreatedAt: base, UpdatedAt: base,
	}
	wantErr(t, "CreateUser", s.CreateUser(ctx, want), nil)
	got, err := s.GetUser(ctx, "alice")
	wantErr(t, "GetUser", err, nil)
	if !equalUsers(got, want) {
		t.Errorf("GetUser = %+v, want %+v", got, want)
	}

	wantErr(t, "CreateUser unstamped", s.CreateUser(ctx, store.User{Name: "bob"}), nil)
	bob, err := s.GetUser(ctx, "bob")
	wantErr(t, "GetUser bob", err, nil)
	if bob.CreatedAt.IsZero() || bob.UpdatedAt.IsZero() {
		t.Errorf("CreateUser left times zero: created %v, updated %v", bob.CreatedAt, bob.UpdatedAt)
	}
}

func testCreateUserExists(t *testing.T, s store.Store) {
	mustCreateUser(t, s, "alice")
	err := s.CreateUser(t.Context(), store.User{Name: "alice", Roles: []string{"other"}})
	wantErr(t, "second CreateUser", err, store.ErrExists)
	got, err := s.GetUser(t.Context(), "alice")
	wantErr(t, "GetUser", err, nil)
	if !slices.Equal(got.Roles, []string{"user"}) {
		t.Errorf("failed CreateUser changed the user: roles %v", got.Roles)
	}
}

func testGetUserNotFound(t *testing.T, s store.Store) {
	_, err := s.GetUser(t.Context(), "nobody")
	wantErr(t, "GetUser", err, store.ErrNotFound)
}

func testUpdateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	err := s.UpdateUser(ctx, "alice", func(u *store.User) error {
		u.Disabled = true
		u.Roles = append(u.Roles, "helpdesk")
		return nil
	})
	wantErr(t, "UpdateUser", err, nil)
	got, err := s.GetUser(ctx, "alice")
	wantErr(t, "GetUser", err, nil)
	if !got.Disabled || !slices.Equal(got.Roles, []string{"user", "helpdesk"}) {
		t.Errorf("after UpdateUser: disabled %v, roles %v", got.Disabled, got.Roles)
	}
	if !got.CreatedAt.Equal(base) {
		t.Errorf("UpdateUser changed CreatedAt to %v", got.CreatedAt)
	}
}

func testUpdateUserErrorAborts(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	errStop := errors.New("stop")
	err := s.UpdateUser(ctx, "alice", func(u *store.User) error {
		u.Disabled = true
		return errStop
	})
	wantErr(t, "UpdateUser", err, errStop)
	got, err := s.GetUser(ctx, "alice")
	wantErr(t, "GetUser", err, nil)
	if got.Disabled {
		t.Error("an UpdateUser whose fn failed was stored")
	}
}

func testUpdateUserNotFound(t *testing.T, s store.Store) {
	called := false
	err := s.UpdateUser(t.Context(), "nobody", func(*store.User) error {
		called = true
		return nil
	})
	wantErr(t, "UpdateUser", err, store.ErrNotFound)
	if called {
		t.Error("fn called for an unknown user")
	}
}

func testDeleteUserCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "alice")
	mustAddEnrollment(t, s, "alice", "e1")
	mustAddEnrollment(t, s, "alice", "e2")
	mustCreateUser(t, s, "alice2") // shares a prefix: must survive
	mustAddEnrollment(t, s, "alice2", "e1")
	_, err := s.RecordFailure(ctx, "alice", base, store.LockoutPolicy{Threshold: 1})
	wantErr(t, "RecordFailure", err, nil)

	wantErr(t, "DeleteUser", s.DeleteUser(ctx, "alice"), nil)
	_, err = s.GetUser(ctx, "alice")
	wantErr(t, "GetUser after delete", err, store.ErrNotFound)
	wantErr(t, "second DeleteUser", s.DeleteUser(ctx, "alice"), store.ErrNotFound)

	// A new account under the old name inherits nothing.
	mustCreateUser(t, s, "alice")
	if list, err := s.Enrollments(ctx, "alice"); err != nil || len(list) != 0 {
		t.Errorf("enrollments outlived their user: %d, %v", len(list), err)
	}
	if l, err := s.Lockout(ctx, "alice"); err != nil || l.Failures != 0 || l.Locked {
		t.Errorf("lockout outlived its user: %+v, %v", l, err)
	}
	enrollment(t, s, "alice2", "e1")
}

func testListUsersSorted(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.ListUsers(ctx)
	wantErr(t, "ListUsers empty", err, nil)
	if len(list) != 0 {
		t.Fatalf("empty store lists %d users", len(list))
	}
	for _, name := range []string{"carol", "alice", "bob", "Zed"} {
		mustCreateUser(t, s, name)
	}
	list, err = s.ListUsers(ctx)
	wantErr(t, "ListUsers", err, nil)
	var names []string
	for _, u := range list {
		names = append(names, u.Name)
	}
	if want := []string{"Zed", "alice", "bob", "carol"}; !slices.Equal(names, want) {
		t.Errorf("ListUsers = %v, want %v", names, want)
	}
}

// A directory-backed user, with no password hash and the profile its
// directory gave, reads back the same through every read path, and a later
// login's UpdateUser replaces the profile, clearing a field the directory no
// longer has.
func testUserDirectoryProfile(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := store.User{
		Name: "bob", Roles: []string{"vpn"}, CreatedAt: base, UpdatedAt: base, Directory: "ldap",
		Profile: store.Profile{DisplayName: "Bob Ünïcode", Mail: "bob@example.org", Phone: "+41 44 123 45 67"},
	}
	wantErr(t, "CreateUser", s.CreateUser(ctx, want), nil)
	mustCreateUser(t, s, "alice") // built-in, no profile: nothing leaks between users
	checkUserEverywhere(t, s, want)

	profile := store.Profile{DisplayName: "Bob B.", Mail: "bob@example.com"}
	err := s.UpdateUser(ctx, "bob", func(u *store.User) error {
		if u.Directory != "ldap" || u.Profile != want.Profile {
			t.Errorf("UpdateUser fn got directory %q, profile %+v", u.Directory, u.Profile)
		}
		u.Profile = profile
		return nil
	})
	wantErr(t, "UpdateUser", err, nil)
	got, err := s.GetUser(ctx, "bob")
	wantErr(t, "GetUser", err, nil)
	want.Profile, want.UpdatedAt = profile, got.UpdatedAt // UpdateUser stamps UpdatedAt
	checkUserEverywhere(t, s, want)

	alice, err := s.GetUser(ctx, "alice")
	wantErr(t, "GetUser alice", err, nil)
	if alice.Directory != "" || alice.Profile != (store.Profile{}) {
		t.Errorf("alice: directory %q, profile %+v, want none", alice.Directory, alice.Profile)
	}
}

// checkUserEverywhere reads want.Name through GetUser, ListUsers and
// LoginState and fails unless each gives want.
func checkUserEverywhere(t *testing.T, s store.Store, want store.User) {
	t.Helper()
	got, err := s.GetUser(t.Context(), want.Name)
	wantErr(t, "GetUser "+want.Name, err, nil)
	if !equalUsers(got, want) {
		t.Errorf("GetUser = %+v, want %+v", got, want)
	}
	list, err := s.ListUsers(t.Context())
	wantErr(t, "ListUsers", err, nil)
	i := slices.IndexFunc(list, func(u store.User) bool { return u.Name == want.Name })
	if i < 0 || !equalUsers(list[i], want) {
		t.Errorf("ListUsers = %+v, want it to hold %+v", list, want)
	}
	if st := loginState(t, s, want.Name); !st.UserFound || !equalUsers(st.User, want) {
		t.Errorf("LoginState user = %+v (found %v), want %+v", st.User, st.UserFound, want)
	}
}

func equalUsers(a, b store.User) bool {
	return a.Name == b.Name && a.PasswordHash == b.PasswordHash &&
		slices.Equal(a.Roles, b.Roles) && a.Disabled == b.Disabled &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.Directory == b.Directory && a.Profile == b.Profile
}
