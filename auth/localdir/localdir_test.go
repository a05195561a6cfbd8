package localdir

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/auth"
	"radiusmfa/store"
)

var cheap = Params{Time: 1, MemoryKiB: 64, Threads: 1}

type users map[string]store.User

func (u users) GetUser(_ context.Context, name string) (store.User, error) {
	if x, ok := u[name]; ok {
		return x, nil
	}
	return store.User{}, store.ErrNotFound
}

func (u users) UpdateUser(_ context.Context, name string, fn func(*store.User) error) error {
	x, ok := u[name]
	if !ok {
		return store.ErrNotFound
	}
	if err := fn(&x); err != nil {
		return err
	}
	u[name] = x
	return nil
}

func TestHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse", cheap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	if ok, err := VerifyPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse", cheap, nil)
	if h == h2 {
		t.Fatal("two hashes share a salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plain",
		"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=-64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := VerifyPassword(bad, "x"); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%q: got %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	h, _ := HashPassword("pw", cheap, nil)
	d, err := New(users{
		"alice": {Name: "alice", PasswordHash: h},
		"dis":   {Name: "dis", PasswordHash: h, Disabled: true},
		"nopw":  {Name: "nopw"},
	}, cheap, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name, pw string
		ok       bool
		disabled bool
	}{
		{"alice", "pw", true, false},
		{"alice", "nope", false, false},
		{"ghost", "pw", false, false},
		{"dis", "pw", false, true},
		{"nopw", "", false, false},
		{"nopw", "anything", false, false},
	}
	for _, c := range cases {
		id, ok, err := d.Authenticate(ctx, c.name, c.pw)
		if err != nil || ok != c.ok || id.Disabled != c.disabled {
			t.Errorf("%s/%s: ok=%v disabled=%v err=%v", c.name, c.pw, ok, id.Disabled, err)
		}
	}
}

func TestConcurrencyBound(t *testing.T) {
	p := Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	h, _ := HashPassword("pw", p, nil)
	d, err := New(users{"alice": {Name: "alice", PasswordHash: h}}, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the only slot, then a caller with a short deadline must give up
	// with ErrOverloaded instead of computing a hash.
	d.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := d.Authenticate(ctx, "alice", "pw"); !errors.Is(err, auth.ErrOverloaded) {
		t.Fatalf("got %v, want ErrOverloaded", err)
	}
	<-d.sem
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := d.Authenticate(context.Background(), "alice", "pw"); !ok || err != nil {
				t.Errorf("queued login failed: %v %v", ok, err)
			}
		}()
	}
	wg.Wait()
	if len(d.sem) != 0 {
		t.Fatal("hash slots leaked")
	}
}

// Invariant: every path (unknown user, no password, disabled, wrong and
// right password) computes exactly one hash, so timing tells nothing; read
// by the directory itself or handed over by the engine.
func TestInvariantOneHashPerAttempt(t *testing.T) {
	h, _ := HashPassword("pw", cheap, nil)
	us := users{
		"alice": {Name: "alice", PasswordHash: h},
		"dis":   {Name: "dis", PasswordHash: h, Disabled: true},
		"nopw":  {Name: "nopw"},
	}
	d, err := New(us, cheap, 1)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	d.verify = func(enc, pw string) (bool, error) { calls++; return VerifyPassword(enc, pw) }
	ctx := context.Background()
	for _, c := range [][2]string{{"ghost", "pw"}, {"nopw", "pw"}, {"dis", "pw"}, {"alice", "bad"}, {"alice", "pw"}} {
		calls = 0
		if _, _, err := d.Authenticate(ctx, c[0], c[1]); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("%s/%s: %d hash computations, want 1", c[0], c[1], calls)
		}
		calls = 0
		u, known := us[c[0]]
		if _, _, err := d.AuthenticateRecord(ctx, c[0], c[1], u, known); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("record %s/%s: %d hash computations, want 1", c[0], c[1], calls)
		}
	}
}

// AuthenticateRecord decides on the record it is given and reads nothing:
// the directory's own store here is empty.
func TestAuthenticateRecord(t *testing.T) {
	h, _ := HashPassword("pw", cheap, nil)
	d, err := New(users{}, cheap, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		u         store.User
		known     bool
		pw        string
		ok, disab bool
	}{
		{store.User{Name: "alice", PasswordHash: h}, true, "pw", true, false},
		{store.User{Name: "alice", PasswordHash: h}, true, "nope", false, false},
		{store.User{}, false, "pw", false, false},
		{store.User{Name: "dis", PasswordHash: h, Disabled: true}, true, "pw", false, true},
		{store.User{Name: "nopw"}, true, "", false, false},
	}
	for _, c := range cases {
		id, ok, err := d.AuthenticateRecord(ctx, c.u.Name, c.pw, c.u, c.known)
		if err != nil || ok != c.ok || id.Disabled != c.disab || (ok && id.Name != c.u.Name) {
			t.Errorf("%q/%s: id=%+v ok=%v err=%v", c.u.Name, c.pw, id, ok, err)
		}
	}
}

func TestUpgradeToConfiguredCost(t *testing.T) {
	old := Params{Time: 2, MemoryKiB: 64, Threads: 1}
	h, _ := HashPassword("pw", old, nil)
	us := users{"alice": {Name: "alice", PasswordHash: h}}
	d, err := New(us, cheap, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The check itself never re-hashes: one hash per attempt before the reply.
	if _, ok, _ := d.Authenticate(context.Background(), "alice", "pw"); !ok {
		t.Fatal("right password refused")
	}
	if us["alice"].PasswordHash != h {
		t.Fatal("the password check re-hashed on the reply path")
	}
	if !d.NeedsUpgrade(us["alice"]) {
		t.Fatal("a hash at another cost needs no upgrade")
	}
	d.UpgradePassword(context.Background(), us["alice"], "pw")
	p, _, _, err := parseHash(us["alice"].PasswordHash)
	if err != nil || p != cheap {
		t.Fatalf("after the upgrade the hash has cost %+v (%v), want %+v", p, err, cheap)
	}
	if d.NeedsUpgrade(us["alice"]) {
		t.Fatal("an upgraded hash still needs an upgrade")
	}
	if _, ok, _ := d.Authenticate(context.Background(), "alice", "pw"); !ok {
		t.Fatal("upgraded password refused")
	}
	// A password changed meanwhile is kept.
	stale := us["alice"]
	newer, _ := HashPassword("new", cheap, nil)
	us["alice"] = store.User{Name: "alice", PasswordHash: newer}
	d.UpgradePassword(context.Background(), stale, "pw")
	if us["alice"].PasswordHash != newer {
		t.Fatal("an upgrade overwrote a newer password")
	}
}
