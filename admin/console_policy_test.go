package admin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
	"radiusmfa/store"
)

func TestSetEnforcement(t *testing.T) {
	var installed []*auth.Enforcement
	c := newConsole(t, func(o *Options) {
		o.OnEnforcement = func(e *auth.Enforcement) { installed = append(installed, e) }
	})
	deadline := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	groups := map[string]string{"vpn-admins": "Required", "contractors": "off"}
	err := c.svc.SetEnforcement(asAdmin, store.Enforcement{Mode: " Optional", Groups: groups,
		Clients: map[string]string{"asa": "REQUIRED"}, Deadline: deadline.In(time.FixedZone("CEST", 2*3600)), Methods: []string{"totp", "backup", "totp"}})
	if err != nil {
		t.Fatal(err)
	}
	groups["contractors"] = "required" // the caller's map is not the stored one
	got, err := c.svc.Settings(asHelp)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Enforcement{Mode: "optional", Groups: map[string]string{"vpn-admins": "required", "contractors": "off"},
		Clients: map[string]string{"asa": "required"}, Deadline: deadline, Methods: []string{"backup", "totp"}}
	if !reflect.DeepEqual(got.Enforcement, want) || got.UpdatedBy != "boss" || !got.UpdatedAt.Equal(c.clk.Now()) {
		t.Fatalf("stored %+v\nwant %+v by boss at %v", got, want, c.clk.Now())
	}
	if len(installed) != 1 {
		t.Fatalf("OnEnforcement called %d times", len(installed))
	}
	en := installed[0]
	if en.Global != auth.ModeOptional || !en.Allows("totp") || !en.Allows("backup") || en.Allows("sms") ||
		en.Clients["asa"] != auth.ModeRequired || !en.Deadline.Equal(deadline) || len(en.Groups) != 2 {
		t.Fatalf("put in force %+v", en)
	}
	r := c.lastAdmin(t)
	if r.Client != "boss" || r.User != "" || r.Detail != "enforcement.set mode=optional group:contractors=off "+
		"group:vpn-admins=required client:asa=required deadline=2025-09-01T00:00:00Z methods=backup,totp" {
		t.Fatalf("audit record %+v", r)
	}

	for _, bad := range []store.Enforcement{
		{Mode: "strict"},
		{Mode: "default"},
		{Groups: map[string]string{"vpn": "sometimes"}},
		{Groups: map[string]string{" ": "off"}},
		{Clients: map[string]string{"asa": ""}},
		{Clients: map[string]string{"": "off"}},
		{Methods: []string{"sms"}},
		{Methods: []string{"bypass"}},
		{Methods: []string{"TOTP"}},
	} {
		if err := c.svc.SetEnforcement(asAdmin, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	if again, _ := c.svc.Settings(asAdmin); !reflect.DeepEqual(again, got) || len(installed) != 1 {
		t.Fatalf("a refused change was stored or put in force: %+v", again)
	}

	// Empty settings hand control back to the configuration.
	if err := c.svc.SetEnforcement(asAdmin, store.Enforcement{Methods: []string{}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.svc.Settings(asAdmin); !reflect.DeepEqual(s.Enforcement, store.Enforcement{}) {
		t.Fatalf("cleared settings stored as %+v", s.Enforcement)
	}
	if en := installed[len(installed)-1]; en.Global != "" || !en.Allows("backup") || en.ModeFor("asa", auth.Identity{}, auth.ModeOff) != auth.ModeOff {
		t.Fatalf("cleared settings put in force as %+v", en)
	}
}

func TestMethods(t *testing.T) {
	c := newConsole(t, nil)
	if got := strings.Join(c.svc.Methods(), ","); got != "backup,totp" {
		t.Fatalf("methods %q; bypass is never one to allow", got)
	}
	// A service without factors knows no method: every one is refused.
	bare := c.sharing(func(o *Options) { o.Factors = nil })
	if err := bare.SetEnforcement(asAdmin, store.Enforcement{Methods: []string{"totp"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v", err)
	}
}

func TestSetRoles(t *testing.T) {
	c := newConsole(t, func(o *Options) {})
	if err := c.svc.SetRoles(asAdmin, "Alice", []string{RoleHelpdesk, RoleAdmin, RoleHelpdesk}); err != nil {
		t.Fatal(err)
	}
	d, err := c.svc.UserDetail(asAdmin, "alice")
	if err != nil || strings.Join(d.Roles, ",") != "admin,helpdesk" {
		t.Fatalf("roles %v, %v", d.Roles, err)
	}
	if r := c.lastAdmin(t); r.User != "alice" || r.Client != "boss" || r.Detail != "user.roles admin,helpdesk" {
		t.Fatalf("audit record %+v", r)
	}
	if err := c.svc.SetRoles(asAdmin, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.st.GetUser(anon, "alice"); len(u.Roles) != 0 {
		t.Fatalf("roles after clearing: %v", u.Roles)
	}
	for _, bad := range [][]string{{"root"}, {""}, {"Admin"}} {
		if err := c.svc.SetRoles(asAdmin, "alice", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("roles %q: %v, want ErrInvalid", bad, err)
		}
	}
	// An admin cannot lock themself out of the console, however spelled.
	for _, ctx := range []context.Context{asAdmin, WithPrincipal(anon, Principal{Name: "BOSS", Role: RoleAdmin})} {
		if err := c.svc.SetRoles(ctx, "boss", []string{RoleHelpdesk}); !errors.Is(err, ErrInvalid) {
			t.Errorf("self-demotion: %v, want ErrInvalid", err)
		}
	}
	if u, _ := c.st.GetUser(anon, "boss"); strings.Join(u.Roles, ",") != "admin" {
		t.Fatalf("boss's roles: %v", u.Roles)
	}
	if err := c.svc.SetRoles(asAdmin, "ghost", []string{RoleHelpdesk}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	// A directory user's role comes from the directory's groups.
	now := c.clk.Now()
	if err := c.st.CreateUser(anon, store.User{Name: "dave", Directory: "ldap", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.SetRoles(asAdmin, "dave", []string{RoleAdmin}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("directory user: %v, want ErrInvalid", err)
	}
}

func TestQueryAudit(t *testing.T) {
	c := newConsole(t, nil)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range []store.AuditRecord{
		{Kind: "auth", User: "alice", Outcome: "accept", Client: "vpn"},
		{Kind: "auth", User: "alice", Outcome: "reject", Client: "vpn"},
		{Kind: "auth", User: "bob", Outcome: "accept", Client: "wifi"},
		{Kind: "web", User: "alice", Outcome: "accept"},
		{Kind: "accounting", User: "alice", Outcome: "ok", Client: "vpn"},
	} {
		r.Time = base.Add(time.Duration(i) * time.Hour)
		r.Detail = fmt.Sprint("rec", i)
		c.appendAudit(t, r)
	}
	details := func(q AuditQuery) string {
		t.Helper()
		q.Since = cmpTime(q.Since, base) // leave out the fixture's own records
		recs, err := c.svc.QueryAudit(asHelp, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			if r.Time.Before(base.Add(24 * time.Hour)) {
				out = append(out, r.Detail)
			}
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		q    AuditQuery
		want string
	}{
		{AuditQuery{}, "rec4 rec3 rec2 rec1 rec0"},
		{AuditQuery{User: "ALICE"}, "rec4 rec3 rec1 rec0"},
		{AuditQuery{Kind: "auth"}, "rec2 rec1 rec0"},
		{AuditQuery{Outcome: "accept"}, "rec3 rec2 rec0"},
		{AuditQuery{Client: "vpn"}, "rec4 rec1 rec0"},
		{AuditQuery{User: "alice", Kind: "auth", Outcome: "accept"}, "rec0"},
		{AuditQuery{Since: base.Add(2 * time.Hour)}, "rec4 rec3 rec2"},
		{AuditQuery{Until: base.Add(2 * time.Hour)}, "rec1 rec0"},
		{AuditQuery{Since: base.Add(time.Hour), Until: base.Add(3 * time.Hour)}, "rec2 rec1"},
		{AuditQuery{Limit: 2, Until: base.Add(24 * time.Hour)}, "rec4 rec3"},
		{AuditQuery{User: "carol"}, ""},
	} {
		if got := details(tc.q); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
		}
	}
	if _, err := c.svc.QueryAudit(asHelp, AuditQuery{Limit: 10001}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit 10001: %v", err)
	}
	if recs, err := c.svc.QueryAudit(asHelp, AuditQuery{Limit: -1}); err != nil || len(recs) == 0 {
		t.Fatalf("a negative limit is the default: %d, %v", len(recs), err)
	}
}

func cmpTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func TestMyLoginsAndReportLogin(t *testing.T) {
	var alerts []store.AuditRecord
	c := newConsole(t, func(o *Options) { o.Alert = func(r store.AuditRecord) { alerts = append(alerts, r) } })
	c.clk.Add(time.Minute)
	web := c.appendAudit(t, store.AuditRecord{Kind: "web", User: "alice", Outcome: "accept", Detail: "sign-in"})
	c.appendAudit(t, store.AuditRecord{Kind: "web", User: "alice", Detail: "totp.enroll refused: too many wrong codes"})
	c.appendAudit(t, store.AuditRecord{Kind: "accounting", User: "alice", Outcome: "ok"})
	bobs := c.appendAudit(t, store.AuditRecord{Kind: "auth", User: "bob", Client: "vpn", Outcome: "accept"})
	c.clk.Add(time.Minute)
	reject := c.appendAudit(t, store.AuditRecord{Kind: "auth", User: "alice", Client: "vpn", Outcome: "reject",
		NASIdentifier: "asa1", CallingStationID: "198.51.100.7"})

	logins, err := c.svc.MyLogins(asAlice, "alice", 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range logins {
		seqs = append(seqs, r.Seq)
	}
	if want := []uint64{reject, web, c.loginSeq}; !reflect.DeepEqual(seqs, want) {
		t.Fatalf("alice's logins %v, want %v (RADIUS decisions and site sign-ins only, newest first)", seqs, want)
	}
	if l, _ := c.svc.MyLogins(asHelp, "alice", 2); len(l) != 2 || l[0].Seq != reject {
		t.Fatalf("limit 2: %+v", l)
	}

	for _, seq := range []uint64{bobs, reject + 1000, reject - 2 /* accounting */, reject - 3 /* a refused enrollment */} {
		if err := c.svc.ReportLogin(asAlice, "alice", seq); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("report of record %d: %v, want ErrNotFound", seq, err)
		}
	}
	if len(alerts) != 0 {
		t.Fatalf("refused reports alerted: %+v", alerts)
	}
	if err := c.svc.ReportLogin(asAlice, "alice", reject); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Kind != KindReport || a.User != "alice" || a.Client != "vpn" || a.NASIdentifier != "asa1" ||
		a.CallingStationID != "198.51.100.7" || !strings.Contains(a.Detail, fmt.Sprintf("login %d", reject)) {
		t.Fatalf("alert %+v", a)
	}
	// Reporting the same login again changes nothing and alerts nobody.
	for range 3 {
		if err := c.svc.ReportLogin(asAlice, "alice", reject); err != nil {
			t.Fatal(err)
		}
	}
	if len(alerts) != 1 {
		t.Fatalf("%d alerts after reporting one login four times, want 1", len(alerts))
	}
	reports, err := c.svc.Reports(asHelp, 10)
	if err != nil || len(reports) != 1 || reports[0].Seq == 0 || reports[0].Detail != a.Detail {
		t.Fatalf("reports %+v, %v", reports, err)
	}
	if mine, err := c.svc.MyReports(asAlice, "alice"); err != nil || len(mine) != 1 || mine[0].Seq != reports[0].Seq {
		t.Fatalf("alice's reports %+v, %v", mine, err)
	}
	if theirs, _ := c.svc.MyReports(asHelp, "bob"); len(theirs) != 0 {
		t.Fatalf("bob's reports: %+v", theirs)
	}
	// A report is not a login: it is not listed among them.
	if l, _ := c.svc.MyLogins(asAlice, "alice", 10); len(l) != 3 {
		t.Fatalf("logins after a report: %+v", l)
	}
}

func TestSearchUsers(t *testing.T) {
	type call struct {
		q     string
		limit int
	}
	var calls []call
	var dirErr error
	dir := []DirectoryUser{
		{Name: "ALICE", DisplayName: "Alice Liddell (AD)", Mail: "alice@corp.example"},
		{Name: "alina", DisplayName: "Alina Petrova", Mail: "alina@corp.example", Disabled: true},
		{Name: "EXAMPLE\\alfred", DisplayName: "Alfred"},
		{Name: "bad\x00name"},
		{Name: "dave"},
	}
	c := newConsole(t, func(o *Options) {
		o.NormalizeName = func(n string) string {
			if _, u, ok := strings.Cut(n, `\`); ok {
				return u
			}
			return n
		}
		o.SearchDirectory = func(ctx context.Context, q string, limit int) ([]DirectoryUser, error) {
			calls = append(calls, call{q, limit})
			var out []DirectoryUser
			for _, d := range dir {
				if strings.Contains(strings.ToLower(d.Name), strings.ToLower(q)) {
					out = append(out, d)
				}
			}
			return out, dirErr
		}
	})
	if err := c.st.UpdateUser(anon, "bob", func(u *store.User) error {
		u.Profile = store.Profile{DisplayName: "Robert Alinsky", Mail: "rob@example.org"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.st.RecordFailure(anon, "bob", c.clk.Now(), store.LockoutPolicy{Threshold: 1}); err != nil {
		t.Fatal(err)
	}

	res, err := c.svc.SearchUsers(asHelp, "  Al ")
	if err != nil {
		t.Fatal(err)
	}
	want := []SearchResult{
		{Name: "alfred", DisplayName: "Alfred", InDirectory: true},
		{Name: "alice", DisplayName: "Alice Liddell (AD)", Mail: "alice@corp.example", InStore: true, InDirectory: true, Devices: 1},
		{Name: "alina", DisplayName: "Alina Petrova", Mail: "alina@corp.example", InDirectory: true, Disabled: true},
		{Name: "bob", DisplayName: "Robert Alinsky", Mail: "rob@example.org", InStore: true, LockedOut: true},
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("search results\n%+v\nwant\n%+v", res, want)
	}
	if len(calls) != 1 || calls[0].q != "Al" || calls[0].limit <= 0 {
		t.Fatalf("directory searched with %+v", calls)
	}
	if res, _ := c.svc.SearchUsers(asHelp, "EXAMPLE.ORG"); len(res) != 1 || res[0].Name != "bob" {
		t.Fatalf("by mail: %+v", res)
	}

	dirErr = errors.New("ldap: server down")
	res, err = c.svc.SearchUsers(asAdmin, "bo")
	if err == nil || !strings.Contains(err.Error(), "server down") || len(res) != 2 {
		t.Fatalf("a failing directory: %+v, %v; want store results (bob, boss) and the error", res, err)
	}
	dirErr = nil
	for _, bad := range []string{"", "   ", strings.Repeat("x", 65), "\xff"} {
		if _, err := c.svc.SearchUsers(asHelp, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("query %q: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := c.svc.SearchUsers(asHelp, strings.Repeat("é", 64)); err != nil {
		t.Errorf("64 characters: %v", err)
	}
}

func TestUserDetail(t *testing.T) {
	c := newConsole(t, nil)
	if err := c.svc.LockUser(asHelp, "alice"); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		c.appendAudit(t, store.AuditRecord{Kind: "auth", User: "alice", Outcome: "reject", Detail: fmt.Sprint(i)})
	}
	c.appendAudit(t, store.AuditRecord{Kind: "auth", User: "bob", Outcome: "accept"})
	d, err := c.svc.UserDetail(asAlice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "alice" || !d.Disabled || d.Directory != "builtin" || !d.HasPassword || d.Devices != 1 ||
		len(d.DeviceList) != 1 || d.DeviceList[0].ID != c.totpID || d.DeviceList[0].Label != "phone" {
		t.Fatalf("detail %+v", d)
	}
	if len(d.RecentAudit) != 20 || d.RecentAudit[0].Detail != "24" {
		t.Fatalf("recent audit: %d records, newest %+v", len(d.RecentAudit), d.RecentAudit[0])
	}
	for _, r := range d.RecentAudit {
		if r.User != "alice" {
			t.Fatalf("another user's record in alice's page: %+v", r)
		}
	}
}

func TestClients(t *testing.T) {
	c := newConsole(t, nil)
	if cl, err := c.svc.Clients(asHelp); err != nil || cl != nil {
		t.Fatalf("without a server: %v, %v", cl, err)
	}
	running := c.sharing(func(o *Options) {
		o.Clients = func() []ClientInfo { return []ClientInfo{{Name: "vpn", Requests: 3}} }
	})
	if cl, err := running.Clients(asAdmin); err != nil || len(cl) != 1 || cl[0].Name != "vpn" {
		t.Fatalf("clients %+v, %v", cl, err)
	}
}
