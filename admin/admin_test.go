package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"radiusmfa/auth/localdir"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

func newService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bytes.Repeat([]byte{7}, 32), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewService(st, Options{Hash: localdir.Params{Time: 1, MemoryKiB: 64, Threads: 1}, Actor: "test"}), st
}

// exercise runs the same scenario through any API implementation, so the
// in-process service and the socket client are held to one behaviour.
func exercise(t *testing.T, api API, st store.Store) {
	ctx := context.Background()
	if err := api.AddUser(ctx, " Alice ", "correct-horse"); err != nil {
		t.Fatal(err)
	}
	if err := api.AddUser(ctx, "alice", "another-pass"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate add: %v", err)
	}
	for _, pw := range []string{"short", "long-enough,123456", "long-enough,push", "long-enough,PUSH2", strings.Repeat("x", MaxPasswordLen+1), "with\nnewline"} {
		if err := api.AddUser(ctx, "bob", pw); !errors.Is(err, ErrInvalid) {
			t.Errorf("password %q: got %v, want ErrInvalid", pw, err)
		}
	}
	if err := api.AddUser(ctx, "bad\x00name", "correct-horse"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	u, err := st.GetUser(ctx, "alice")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("stored user %+v, %v", u, err)
	}
	if ok, _ := localdir.VerifyPassword(u.PasswordHash, "correct-horse"); !ok {
		t.Fatal("stored hash does not verify")
	}
	if err := api.SetPassword(ctx, "alice", "new-password"); err != nil {
		t.Fatal(err)
	}
	u, _ = st.GetUser(ctx, "alice")
	if ok, _ := localdir.VerifyPassword(u.PasswordHash, "new-password"); !ok {
		t.Fatal("passwd did not change the hash")
	}
	if err := api.SetPassword(ctx, "ghost", "new-password"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("passwd of unknown user: %v", err)
	}

	res, err := api.EnrollTOTP(ctx, TOTPRequest{User: "alice", Label: "phone"})
	if err != nil || res.Secret == "" || !strings.HasPrefix(res.URI, "otpauth://totp/") {
		t.Fatalf("enroll: %+v %v", res, err)
	}
	if _, err := api.EnrollTOTP(ctx, TOTPRequest{User: "ghost"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("enroll unknown user: %v", err)
	}
	if _, err := api.EnrollTOTP(ctx, TOTPRequest{User: "alice", Digits: 7}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("enroll 7 digits: %v", err)
	}
	devs, err := api.ListDevices(ctx, "alice")
	if err != nil || len(devs) != 1 || devs[0].ID != res.ID || devs[0].Label != "phone" {
		t.Fatalf("devices %+v %v", devs, err)
	}

	if err := api.LockUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	_, _ = st.RecordFailure(ctx, "alice", u.CreatedAt, store.LockoutPolicy{Threshold: 1})
	users, err := api.ListUsers(ctx)
	if err != nil || len(users) != 1 || !users[0].Disabled || users[0].Devices != 1 || users[0].Failures != 1 {
		t.Fatalf("list %+v %v", users, err)
	}
	if err := api.UnlockUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if l, _ := st.Lockout(ctx, "alice"); l.Failures != 0 {
		t.Fatal("unlock kept the failure counter")
	}
	if u, _ := st.GetUser(ctx, "alice"); u.Disabled {
		t.Fatal("unlock kept the admin lock")
	}
	// Unlock clears a lockout even for a name with no user record.
	_, _ = st.RecordFailure(ctx, "ghost", u.CreatedAt, store.LockoutPolicy{Threshold: 1})
	if err := api.UnlockUser(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unlock ghost: %v", err)
	}
	if l, _ := st.Lockout(ctx, "ghost"); l.Failures != 0 {
		t.Fatal("unlock of an unknown name kept its counter")
	}

	if err := api.RemoveDevice(ctx, "alice", res.ID); err != nil {
		t.Fatal(err)
	}
	if err := api.RemoveDevice(ctx, "alice", res.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	recs, err := api.AuditTail(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		if r.Kind == "admin" {
			actions = append(actions, strings.Fields(r.Detail)[0])
		}
	}
	want := "user.add user.passwd totp.enroll user.lock user.unlock device.remove"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("audited actions %q, want %q", got, want)
	}
	if _, err := api.AuditTail(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tail 0: %v", err)
	}
	if err := api.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := api.DeleteUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestService(t *testing.T) {
	svc, st := newService(t)
	exercise(t, svc, st)
}

func TestSocket(t *testing.T) {
	svc, st := newService(t)
	path := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := ListenSocket(path, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if _, err := ListenSocket(path, svc, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("a second server took over a live socket")
	}
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, cl, st)
	recs, _ := st.RecentAudit(context.Background(), 1)
	if want := fmt.Sprintf("admin-socket uid=%d pid=%d", os.Getuid(), os.Getpid()); len(recs) != 1 || recs[0].Client != want {
		t.Fatalf("socket actions audited as %+v, want actor %q", recs, want)
	}
}

// A socket path that names another file must never delete it.
func TestSocketRefusesToReplaceAFile(t *testing.T) {
	svc, _ := newService(t)
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenSocket(path, svc, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("got %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Fatalf("the file was touched: %q %v", b, err)
	}
}

// A socket left by a crashed server is replaced.
func TestSocketReplacesStaleSocket(t *testing.T) {
	svc, _ := newService(t)
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // leaves the socket file with nobody listening
	srv, err := ListenSocket(path, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}

// TestDirectoryUsers covers a server whose passwords live in LDAP: a first
// enrollment creates the user's record, under the name a login uses.
func TestDirectoryUsers(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bytes.Repeat([]byte{7}, 32), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	strip := func(n string) string {
		if _, user, ok := strings.Cut(n, `\`); ok {
			return user
		}
		return n
	}
	svc := NewService(st, Options{Actor: "test", Digits: 6, Algorithm: "SHA1", Issuer: "t", Directory: "ldap", NormalizeName: strip})
	ctx := context.Background()
	if _, err := svc.EnrollTOTP(ctx, TOTPRequest{User: `EXAMPLE\Carol`}); err != nil {
		t.Fatal(err)
	}
	u, err := st.GetUser(ctx, "carol")
	if err != nil || u.Directory != "ldap" || u.PasswordHash != "" {
		t.Fatalf("record after the first enrollment: %+v, %v; want a directory user named carol", u, err)
	}
	if devs, err := svc.ListDevices(ctx, "carol"); err != nil || len(devs) != 1 {
		t.Fatalf("devices: %v, %v", devs, err)
	}
	if _, err := svc.EnrollTOTP(ctx, TOTPRequest{User: "carol"}); err != nil {
		t.Fatalf("a second enrollment: %v", err)
	}
	// Without a directory, enrolling an unknown user is still an error.
	local, _ := newService(t)
	if _, err := local.EnrollTOTP(ctx, TOTPRequest{User: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("built-in directory, unknown user: %v, want ErrNotFound", err)
	}
}
