package admin

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"radiusmfa/auth"
	"radiusmfa/auth/localdir"
	"radiusmfa/factors"
	"radiusmfa/factors/backup"
	"radiusmfa/factors/bypass"
	"radiusmfa/factors/phone"
	"radiusmfa/factors/totp"
	"radiusmfa/store"
	"radiusmfa/store/bolt"
)

// clock is the fixture's time: the service, the store and the factors read
// it, so expiry and TOTP steps are deterministic.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }

// Principals of the tests. alice and bob are plain users; boss is an admin
// with a store record, hd a help-desk operator.
var (
	anon    = context.Background()
	asAdmin = WithPrincipal(context.Background(), Principal{Name: "boss", Role: RoleAdmin})
	asHelp  = WithPrincipal(context.Background(), Principal{Name: "hd", Role: RoleHelpdesk})
	asAlice = WithPrincipal(context.Background(), Principal{Name: "alice"})
	asBob   = WithPrincipal(context.Background(), Principal{Name: "bob"})
)

// console is a service over a real store with alice, bob and boss, an
// authenticator app of alice and one RADIUS login of hers in the audit log.
type console struct {
	svc        *Service
	opt        Options
	st         store.Store
	clk        *clock
	totpID     string
	totpSecret string
	loginSeq   uint64
}

// newConsole builds the fixture; mod may change the options first. The
// service has no Options.Actor: a context without a principal is nobody.
func newConsole(t *testing.T, mod func(*Options)) *console {
	t.Helper()
	clk := &clock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bytes.Repeat([]byte{7}, 32), bolt.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o := Options{
		Hash: localdir.Params{Time: 1, MemoryKiB: 64, Threads: 1}, Now: clk.Now,
		Issuer: "test", Digits: 6, Algorithm: "SHA1",
		Factors: map[string]factors.Factor{
			totp.Kind:   totp.New(st, totp.Options{Skew: 1, Now: clk.Now}),
			backup.Kind: backup.New(st, backup.Options{Now: clk.Now}),
			bypass.Kind: bypass.New(st, bypass.Options{Now: clk.Now}),
		},
	}
	if mod != nil {
		mod(&o)
	}
	c := &console{svc: NewService(st, o), opt: o, st: st, clk: clk}
	for _, u := range []string{"alice", "bob", "boss"} {
		if err := c.svc.AddUser(asAdmin, u, "correct-horse"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.UpdateUser(anon, "boss", func(u *store.User) error { u.Roles = []string{RoleAdmin}; return nil }); err != nil {
		t.Fatal(err)
	}
	res, err := c.svc.EnrollTOTP(asAdmin, TOTPRequest{User: "alice", Label: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	c.totpID, c.totpSecret = res.ID, res.Secret
	c.loginSeq = c.appendAudit(t, store.AuditRecord{Kind: "auth", User: "alice", Client: "vpn", Outcome: "accept", Factor: "totp"})
	return c
}

// sharing returns another service over c's store and options, changed by mod.
func (c *console) sharing(mod func(*Options)) *Service {
	o := c.opt
	mod(&o)
	return NewService(c.st, o)
}

// compiled returns an Options.Enforcement that reports e.
func compiled(t *testing.T, e store.Enforcement) func() *auth.Enforcement {
	t.Helper()
	en, err := auth.CompileEnforcement(e)
	if err != nil {
		t.Fatal(err)
	}
	return func() *auth.Enforcement { return en }
}

// appendAudit stores r (at the clock's time unless set) and returns its Seq.
func (c *console) appendAudit(t *testing.T, r store.AuditRecord) uint64 {
	t.Helper()
	if r.Time.IsZero() {
		r.Time = c.clk.Now()
	}
	if err := c.st.AppendAudit(anon, r); err != nil {
		t.Fatal(err)
	}
	recs, err := c.st.RecentAudit(anon, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("reading back an audit record: %v %v", recs, err)
	}
	return recs[0].Seq
}

// code is the TOTP code of secret at the clock's time, plus steps periods.
func (c *console) code(t *testing.T, secret string, steps int) string {
	t.Helper()
	s, err := pqtotp.GenerateCodeCustom(secret, c.clk.Now().Add(time.Duration(steps)*30*time.Second),
		pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (c *console) devices(t *testing.T, user string) []Device {
	t.Helper()
	devs, err := c.svc.ListDevices(asAdmin, user)
	if err != nil {
		t.Fatal(err)
	}
	return devs
}

func (c *console) enrollment(t *testing.T, user, id string) store.Enrollment {
	t.Helper()
	es, err := c.st.Enrollments(anon, user)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no enrollment %s of %s", id, user)
	return store.Enrollment{}
}

// lastAdmin returns the newest "admin" audit record.
func (c *console) lastAdmin(t *testing.T) store.AuditRecord {
	t.Helper()
	recs, err := c.svc.QueryAudit(asAdmin, AuditQuery{Kind: "admin", Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatalf("newest admin record: %v %v", recs, err)
	}
	return recs[0]
}

// Who may make a call. Every call of the service is in the matrix.
type rule int

const (
	adminOnly rule = iota
	staffOnly
	selfOrStaff
	selfOnly
)

type matrixCall struct {
	name string
	rule rule
	call func(t *testing.T, ctx context.Context, c *console) error
}

var matrixCalls = []matrixCall{
	{"AddUser", adminOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.AddUser(ctx, "carol", "correct-horse")
	}},
	{"SetPassword", adminOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.SetPassword(ctx, "alice", "new-password")
	}},
	{"DeleteUser", adminOnly, func(t *testing.T, ctx context.Context, c *console) error { return c.svc.DeleteUser(ctx, "alice") }},
	{"SetEnforcement", adminOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.SetEnforcement(ctx, store.Enforcement{Mode: "required"})
	}},
	{"SetRoles", adminOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.SetRoles(ctx, "alice", []string{RoleHelpdesk})
	}},
	{"ListUsers", staffOnly, func(t *testing.T, ctx context.Context, c *console) error { _, err := c.svc.ListUsers(ctx); return err }},
	{"LockUser", staffOnly, func(t *testing.T, ctx context.Context, c *console) error { return c.svc.LockUser(ctx, "alice") }},
	{"UnlockUser", staffOnly, func(t *testing.T, ctx context.Context, c *console) error { return c.svc.UnlockUser(ctx, "alice") }},
	{"EnrollTOTP", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.EnrollTOTP(ctx, TOTPRequest{User: "alice"})
		return err
	}},
	{"AddContact", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.AddContact(ctx, "alice", auth.KindEmail, "alice@example.com", "")
		return err
	}},
	{"AuditTail", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.AuditTail(ctx, 5)
		return err
	}},
	{"SearchUsers", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.SearchUsers(ctx, "ali")
		return err
	}},
	{"SetDeviceDisabled", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.SetDeviceDisabled(ctx, "alice", c.totpID, true)
	}},
	{"ResetEnrollment", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.ResetEnrollment(ctx, "alice")
		return err
	}},
	{"IssueBypass", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.IssueBypass(ctx, BypassRequest{User: "alice"})
		return err
	}},
	{"Settings", staffOnly, func(t *testing.T, ctx context.Context, c *console) error { _, err := c.svc.Settings(ctx); return err }},
	{"QueryAudit", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.QueryAudit(ctx, AuditQuery{User: "alice"})
		return err
	}},
	{"Reports", staffOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.Reports(ctx, 10)
		return err
	}},
	{"Clients", staffOnly, func(t *testing.T, ctx context.Context, c *console) error { _, err := c.svc.Clients(ctx); return err }},
	{"ListDevices", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.ListDevices(ctx, "alice")
		return err
	}},
	{"RemoveDevice", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.RemoveDevice(ctx, "alice", c.totpID)
	}},
	{"UserDetail", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.UserDetail(ctx, "alice")
		return err
	}},
	{"RenameDevice", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.RenameDevice(ctx, "alice", c.totpID, "work phone")
	}},
	{"SetPreferred", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.SetPreferred(ctx, "alice", c.totpID)
	}},
	{"MyLogins", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.MyLogins(ctx, "alice", 10)
		return err
	}},
	{"MyReports", selfOrStaff, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.MyReports(ctx, "alice")
		return err
	}},
	{"NewBackupCodes", selfOnly, func(t *testing.T, ctx context.Context, c *console) error {
		_, err := c.svc.NewBackupCodes(ctx, "alice")
		return err
	}},
	{"ProveFactor", selfOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.ProveFactor(ctx, "alice", c.code(t, c.totpSecret, 0), "")
	}},
	{"BeginContact", selfOnly, func(t *testing.T, ctx context.Context, c *console) error {
		svc, _ := c.withCodes(t, 0, phone.Rules{})
		_, err := svc.BeginContact(ctx, "alice", auth.KindSMS, "+1 650 253 0000", "")
		return err
	}},
	{"ConfirmContact", selfOnly, func(t *testing.T, ctx context.Context, c *console) error {
		svc, box := c.withCodes(t, 0, phone.Rules{})
		p, err := svc.BeginContact(asAlice, "alice", auth.KindSMS, "+1 650 253 0000", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.ConfirmContact(ctx, p, box.Last(t).Code, ConfirmOptions{})
		return err
	}},
	{"ReportLogin", selfOnly, func(t *testing.T, ctx context.Context, c *console) error {
		return c.svc.ReportLogin(ctx, "alice", c.loginSeq)
	}},
}

// TestAuthorizationMatrix makes every call as every kind of principal, on
// the user alice: each is either refused with ErrForbidden or succeeds.
func TestAuthorizationMatrix(t *testing.T) {
	type who struct {
		name string
		ctx  context.Context
		// may reports whether this principal may make calls of a rule.
		may func(rule) bool
	}
	never := func(rule) bool { return false }
	whos := []who{
		{"anonymous", anon, never},
		{"nameless principal", WithPrincipal(anon, Principal{Role: RoleAdmin}), never},
		{"self", asAlice, func(r rule) bool { return r == selfOrStaff || r == selfOnly }},
		{"self spelled otherwise", WithPrincipal(anon, Principal{Name: " Alice "}), func(r rule) bool { return r == selfOrStaff || r == selfOnly }},
		{"other user", asBob, never},
		{"unknown role", WithPrincipal(anon, Principal{Name: "eve", Role: "superuser"}), never},
		{"helpdesk", asHelp, func(r rule) bool { return r == staffOnly || r == selfOrStaff }},
		{"admin", asAdmin, func(r rule) bool { return r != selfOnly }},
	}
	for _, mc := range matrixCalls {
		for _, w := range whos {
			t.Run(mc.name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				c := newConsole(t, nil)
				err := mc.call(t, w.ctx, c)
				if w.may(mc.rule) {
					if err != nil {
						t.Fatalf("allowed call failed: %v", err)
					}
				} else if !errors.Is(err, ErrForbidden) {
					t.Fatalf("got %v, want ErrForbidden", err)
				}
			})
		}
	}
}

// A caller who may not call learns nothing about the name asked for: not
// whether it is well-formed, nor whether such a user exists.
func TestForbiddenRevealsNothing(t *testing.T) {
	c := newConsole(t, nil)
	for _, ctx := range []context.Context{anon, asBob} {
		for _, name := range []string{"ghost", "bad\x00name", ""} {
			if _, err := c.svc.UserDetail(ctx, name); !errors.Is(err, ErrForbidden) {
				t.Errorf("UserDetail(%q): %v, want ErrForbidden", name, err)
			}
			if _, err := c.svc.ListDevices(ctx, name); !errors.Is(err, ErrForbidden) {
				t.Errorf("ListDevices(%q): %v, want ErrForbidden", name, err)
			}
		}
	}
	if err := c.svc.LockUser(asBob, "bad\x00name"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a user locking a malformed name: %v, want ErrForbidden", err)
	}
	// Staff do learn that a user does not exist.
	if _, err := c.svc.UserDetail(asHelp, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("helpdesk, unknown user: %v, want ErrNotFound", err)
	}
	// Options.Actor makes a context without a principal a local admin.
	local := NewService(c.st, Options{Actor: "cli uid=0"})
	if _, err := local.Settings(anon); err != nil {
		t.Errorf("local actor: %v", err)
	}
	if _, err := local.NewBackupCodes(anon, "alice"); !errors.Is(err, ErrForbidden) {
		t.Errorf("local actor making alice's backup codes: %v, want ErrForbidden", err)
	}
}

func TestSetDeviceDisabled(t *testing.T) {
	c := newConsole(t, nil)
	if err := c.svc.SetDeviceDisabled(asHelp, "Alice", c.totpID, true); err != nil {
		t.Fatal(err)
	}
	if d := c.devices(t, "alice"); len(d) != 1 || !d[0].Disabled {
		t.Fatalf("devices after disable: %+v", d)
	}
	r := c.lastAdmin(t)
	if r.Client != "hd" || r.User != "alice" || r.Detail != "device.disable "+c.totpID || r.Outcome != "ok" {
		t.Fatalf("audit record %+v; want the operator hd in Client", r)
	}
	// A disabled device proves nothing, even with a good code.
	if err := c.svc.ProveFactor(asAlice, "alice", c.code(t, c.totpSecret, 0), ""); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("code of a disabled device: %v", err)
	}
	if err := c.svc.SetDeviceDisabled(asAdmin, "alice", c.totpID, false); err != nil {
		t.Fatal(err)
	}
	if d := c.devices(t, "alice"); d[0].Disabled {
		t.Fatal("enable left the device disabled")
	}
	if r := c.lastAdmin(t); r.Client != "boss" || r.Detail != "device.enable "+c.totpID {
		t.Fatalf("audit record %+v", r)
	}
	if err := c.svc.SetDeviceDisabled(asHelp, "alice", "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if err := c.svc.SetDeviceDisabled(asHelp, "bob", c.totpID, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alice's device under bob's name: %v", err)
	}
}

func TestRenameDevice(t *testing.T) {
	c := newConsole(t, nil)
	if err := c.svc.RenameDevice(asAlice, "alice", c.totpID, "  work phone  "); err != nil {
		t.Fatal(err)
	}
	if d := c.devices(t, "alice"); d[0].Label != "work phone" {
		t.Fatalf("label %q, want it trimmed", d[0].Label)
	}
	if r := c.lastAdmin(t); r.Client != "alice" || r.Detail != "device.rename "+c.totpID {
		t.Fatalf("audit record %+v", r)
	}
	if err := c.svc.RenameDevice(asAlice, "alice", c.totpID, strings.Repeat("é", 64)); err != nil {
		t.Fatalf("64 characters (128 bytes): %v", err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 65), strings.Repeat("é", 65), "a\tb", "a\x00b", "a\nb",
		"a\x7fb", "a\u0085b", "a\u202eb", "a\u200bb", "\xffbad"} {
		if err := c.svc.RenameDevice(asAlice, "alice", c.totpID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("label %q: %v, want ErrInvalid", bad, err)
		}
	}
	if d := c.devices(t, "alice"); d[0].Label != strings.Repeat("é", 64) {
		t.Fatalf("a refused name changed the label to %q", d[0].Label)
	}
	if err := c.svc.RenameDevice(asAlice, "alice", "nope", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if _, err := c.svc.EnrollTOTP(asAdmin, TOTPRequest{User: "alice", Label: "a\u202eb"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("enrolling with a bad label: %v", err)
	}
}

func TestSetPreferred(t *testing.T) {
	c := newConsole(t, nil)
	second, err := c.svc.EnrollTOTP(asAdmin, TOTPRequest{User: "alice", Label: "tablet"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.NewBackupCodes(asAlice, "alice"); err != nil {
		t.Fatal(err)
	}
	by, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	preferred := func() []string {
		var ids []string
		for _, d := range c.devices(t, "alice") {
			if d.Preferred {
				ids = append(ids, d.ID)
			}
		}
		return ids
	}
	for _, id := range []string{c.totpID, second.ID, c.totpID} {
		if err := c.svc.SetPreferred(asAlice, "alice", id); err != nil {
			t.Fatal(err)
		}
		if p := preferred(); len(p) != 1 || p[0] != id {
			t.Fatalf("preferred %v, want exactly [%s]", p, id)
		}
	}
	var backupID string
	for _, d := range c.devices(t, "alice") {
		if d.Kind == backup.Kind {
			backupID = d.ID
		}
	}
	for _, id := range []string{backupID, by.ID} {
		if err := c.svc.SetPreferred(asAlice, "alice", id); !errors.Is(err, ErrInvalid) {
			t.Errorf("code set %s as preferred: %v, want ErrInvalid", id, err)
		}
	}
	if err := c.svc.SetDeviceDisabled(asHelp, "alice", second.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.SetPreferred(asAlice, "alice", second.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("disabled device as preferred: %v, want ErrInvalid", err)
	}
	if err := c.svc.SetPreferred(asAlice, "alice", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown device: %v", err)
	}
	if p := preferred(); len(p) != 1 || p[0] != c.totpID {
		t.Fatalf("refused changes moved the preference: %v", p)
	}
}

func TestResetEnrollment(t *testing.T) {
	c := newConsole(t, nil)
	if _, err := c.svc.EnrollTOTP(asAdmin, TOTPRequest{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	n, err := c.svc.ResetEnrollment(asHelp, "alice")
	if err != nil || n != 3 {
		t.Fatalf("reset: %d, %v; want 3", n, err)
	}
	if d := c.devices(t, "alice"); len(d) != 0 {
		t.Fatalf("devices left: %+v", d)
	}
	if r := c.lastAdmin(t); r.Client != "hd" || r.User != "alice" || r.Detail != "user.reset_enrollment devices=3" {
		t.Fatalf("audit record %+v", r)
	}
	if n, err := c.svc.ResetEnrollment(asHelp, "alice"); err != nil || n != 0 {
		t.Fatalf("second reset: %d, %v", n, err)
	}
	if _, err := c.svc.ResetEnrollment(asHelp, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if d := c.devices(t, "bob"); len(d) != 0 {
		t.Fatalf("bob has devices: %+v", d)
	}
}

var eightDigits = regexp.MustCompile(`^[0-9]{8}$`)

func TestIssueBypass(t *testing.T) {
	c := newConsole(t, nil)
	f := bypass.New(c.st, bypass.Options{Now: c.clk.Now})
	res, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !eightDigits.MatchString(res.Code) || res.Uses != 1 || !res.ExpiresAt.Equal(c.clk.Now().Add(time.Hour)) {
		t.Fatalf("default bypass %+v; want 8 digits, 1 use, an hour", res)
	}
	e := c.enrollment(t, "alice", res.ID)
	if e.Kind != bypass.Kind || e.CreatedBy != "hd" || bytes.Contains(e.Secret, []byte(res.Code)) {
		t.Fatalf("stored %+v", e)
	}
	if r := c.lastAdmin(t); r.Client != "hd" || !strings.HasPrefix(r.Detail, "bypass.issue "+res.ID+" uses=1 ") || strings.Contains(r.Detail, res.Code) {
		t.Fatalf("audit record %+v", r)
	}
	wrong := "00000000"
	if res.Code == wrong {
		wrong = "11111111"
	}
	if err := f.Verify(anon, e, wrong); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := f.Verify(anon, e, res.Code); err != nil {
		t.Fatalf("first use: %v", err)
	}
	// Once used, the code is spent: from the copy read before the use (a
	// concurrent login) and from the stored record alike.
	if err := f.Verify(anon, e, res.Code); !errors.Is(err, factors.ErrReplayed) {
		t.Fatalf("second use, stale record: %v, want ErrReplayed", err)
	}
	if err := f.Verify(anon, c.enrollment(t, "alice", res.ID), res.Code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("second use: %v, want ErrInvalidCode", err)
	}
	if d := c.devices(t, "alice"); !slices.ContainsFunc(d, func(d Device) bool { return d.ID == res.ID && d.Remaining == 0 && d.Expired }) {
		t.Fatalf("the spent code is not listed as spent: %+v", d)
	}

	three, err := c.svc.IssueBypass(asAdmin, BypassRequest{User: "alice", Uses: 3, TTL: 10 * time.Minute})
	if err != nil || three.Uses != 3 || !three.ExpiresAt.Equal(c.clk.Now().Add(10*time.Minute)) {
		t.Fatalf("3 uses, 10 minutes: %+v %v", three, err)
	}
	for i := range 2 {
		if err := f.Verify(anon, c.enrollment(t, "alice", three.ID), three.Code); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	c.clk.Add(10 * time.Minute)
	if err := f.Verify(anon, c.enrollment(t, "alice", three.ID), three.Code); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("expired code: %v", err)
	}
	for _, d := range c.devices(t, "alice") {
		if d.ID == three.ID && (!d.Expired || d.Remaining != 1) {
			t.Fatalf("expired code listed as %+v", d)
		}
	}

	before := len(c.devices(t, "alice"))
	for _, r := range []BypassRequest{{Uses: -1}, {Uses: bypass.MaxUses + 1}, {TTL: 30 * time.Second}, {TTL: -time.Hour},
		{TTL: bypass.MaxTTL + time.Second}} {
		r.User = "alice"
		if _, err := c.svc.IssueBypass(asHelp, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", r, err)
		}
	}
	if after := len(c.devices(t, "alice")); after != before {
		t.Fatalf("refused requests stored codes: %d devices, had %d", after, before)
	}
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "ghost"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown built-in user: %v", err)
	}
}

// With a directory, a code may be issued ahead of a first login, which
// creates the record; a refused request creates none.
func TestIssueBypassDirectoryUser(t *testing.T) {
	c := newConsole(t, func(o *Options) { o.Directory = "ldap" })
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "dave", Uses: 1000}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too many uses: %v", err)
	}
	if _, err := c.st.GetUser(anon, "dave"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused request created a record: %v", err)
	}
	if _, err := c.svc.EnrollTOTP(asHelp, TOTPRequest{User: "dave", Digits: 7}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("7 digits: %v", err)
	}
	if _, err := c.st.GetUser(anon, "dave"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused enrollment created a record: %v", err)
	}
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "dave"}); err != nil {
		t.Fatal(err)
	}
	if u, err := c.st.GetUser(anon, "dave"); err != nil || u.Directory != "ldap" {
		t.Fatalf("record %+v, %v", u, err)
	}
}

func TestNewBackupCodes(t *testing.T) {
	c := newConsole(t, nil)
	f := backup.New(c.st, backup.Options{Now: c.clk.Now})
	backupOf := func() store.Enrollment {
		t.Helper()
		es, err := c.st.Enrollments(anon, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var found []store.Enrollment
		for _, e := range es {
			if e.Kind == backup.Kind {
				found = append(found, e)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d backup code sets, want 1", len(found))
		}
		return found[0]
	}
	first, err := c.svc.NewBackupCodes(asAlice, "alice")
	if err != nil || len(first) != backup.DefaultN {
		t.Fatalf("codes %v, %v", first, err)
	}
	for _, code := range first {
		if !eightDigits.MatchString(code) {
			t.Fatalf("code %q is not 8 digits", code)
		}
	}
	old := backupOf()
	if err := f.Verify(anon, old, first[0]); err != nil {
		t.Fatalf("a fresh code: %v", err)
	}
	if r := c.lastAdmin(t); r.Client != "alice" || r.Detail != "backup.generate "+old.ID {
		t.Fatalf("audit record %+v", r)
	}
	second, err := c.svc.NewBackupCodes(asAlice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cur := backupOf()
	if cur.ID == old.ID {
		t.Fatal("the old set was kept")
	}
	for _, e := range []store.Enrollment{old, cur} {
		if err := f.Verify(anon, e, first[1]); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("an old code against set %s: %v, want ErrInvalidCode", e.ID, err)
		}
	}
	if err := f.Verify(anon, cur, second[0]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
	if d := c.devices(t, "alice"); len(d) != 2 {
		t.Fatalf("devices %+v; want the app and one set", d)
	}
}

func TestProveFactor(t *testing.T) {
	c := newConsole(t, nil)
	tablet, err := c.svc.EnrollTOTP(asAdmin, TOTPRequest{User: "alice", Label: "tablet"})
	if err != nil {
		t.Fatal(err)
	}
	// The device being removed cannot vouch for its own removal.
	if err := c.svc.ProveFactor(asAlice, "alice", c.code(t, c.totpSecret, 0), c.totpID); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("code of the excepted device: %v", err)
	}
	code := c.code(t, c.totpSecret, 0)
	if err := c.svc.ProveFactor(asAlice, "alice", " "+code+" ", tablet.ID); err != nil {
		t.Fatalf("code of another device: %v", err)
	}
	if r := c.lastAdmin(t); r.Detail != "factor.proved "+c.totpID || r.Client != "alice" {
		t.Fatalf("audit record %+v", r)
	}
	if e := c.enrollment(t, "alice", c.totpID); e.Counter == 0 || e.LastUsedAt.IsZero() {
		t.Fatalf("the code was not consumed: %+v", e)
	}
	if err := c.svc.ProveFactor(asAlice, "alice", code, tablet.ID); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("the same code again: %v", err)
	}
	if err := c.svc.SetDeviceDisabled(asHelp, "alice", tablet.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.ProveFactor(asAlice, "alice", c.code(t, tablet.Secret, 0), ""); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("code of a disabled device: %v", err)
	}
	for _, bad := range []string{"", "   ", "abcdef", "1234567"} {
		if err := c.svc.ProveFactor(asAlice, "alice", bad, ""); !errors.Is(err, factors.ErrInvalidCode) {
			t.Errorf("code %q: %v", bad, err)
		}
	}
	// Bypass codes never prove a factor; backup codes do, unless an admin
	// allowed only other methods.
	by, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.svc.ProveFactor(asAlice, "alice", by.Code, ""); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("bypass code: %v", err)
	}
	codes, err := c.svc.NewBackupCodes(asAlice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.svc.ProveFactor(asAlice, "alice", codes[0], ""); err != nil {
		t.Fatalf("backup code: %v", err)
	}
	only := c.sharing(func(o *Options) { o.Enforcement = compiled(t, store.Enforcement{Methods: []string{totp.Kind}}) })
	if err := only.ProveFactor(asAlice, "alice", codes[1], ""); !errors.Is(err, factors.ErrInvalidCode) {
		t.Fatalf("backup code with only totp allowed: %v", err)
	}
	c.clk.Add(time.Minute)
	if err := only.ProveFactor(asAlice, "alice", c.code(t, c.totpSecret, 0), ""); err != nil {
		t.Fatalf("totp code with only totp allowed: %v", err)
	}
}

// The help desk may not act on an admin: a built-in admin by their roles, a
// directory admin by the role their groups gave at their last sign-in.
func TestHelpdeskCannotActOnAdmins(t *testing.T) {
	c := newConsole(t, func(o *Options) { o.Directory = "ldap" })
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "boss"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("helpdesk bypass for a built-in admin: %v", err)
	}
	if _, err := c.svc.ResetEnrollment(asHelp, "boss"); !errors.Is(err, ErrForbidden) {
		t.Errorf("helpdesk reset of an admin: %v", err)
	}
	if _, err := c.svc.IssueBypass(asAdmin, BypassRequest{User: "boss"}); err != nil {
		t.Errorf("admin bypass for an admin: %v", err)
	}
	// A directory user: no role until a sign-in notes one.
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "dora"}); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.NoteSignInRole(anon, "dora", RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "dora"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("helpdesk bypass for a directory admin: %v", err)
	}
	if err := c.svc.NoteSignInRole(anon, "dora", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.IssueBypass(asHelp, BypassRequest{User: "dora"}); err != nil {
		t.Errorf("after the role went: %v", err)
	}
	// A built-in user's roles are not the site's to change.
	if err := c.svc.NoteSignInRole(anon, "boss", ""); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.st.GetUser(anon, "boss"); len(u.Roles) != 1 {
		t.Errorf("NoteSignInRole changed a built-in user's roles: %v", u.Roles)
	}
}
