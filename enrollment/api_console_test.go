package enrollment

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
)

func TestAPIStaffUserEndpoints(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, aliceSecret := fx.addTOTP("alice")
	alice := fx.signInTOTP("alice", aliceSecret)
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)

	// A plain user: the console's endpoints do not exist, except that
	// about their own name they are told it is not theirs to do.
	apiWantError(t, fx.api("GET", "/api/v1/users?q=hel", nil, alice), http.StatusNotFound, "not_found")
	apiWantError(t, fx.api("POST", "/api/v1/users/helen/unlock", nil, alice), http.StatusNotFound, "not_found")
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/unlock", nil, alice), http.StatusForbidden, "forbidden")
	apiWantError(t, fx.api("GET", "/api/v1/clients", nil, alice), http.StatusNotFound, "not_found")

	w := fx.api("GET", "/api/v1/users?q=ali", nil, helen)
	apiWantKeys(t, w.Body.String(), "users")
	users := apiJSON[apiUsersResponse](t, w, http.StatusOK).Users
	if len(users) != 1 || users[0].Name != "alice" || !users[0].InStore || users[0].Devices != 1 {
		t.Fatalf("search: %+v", users)
	}
	if u := apiJSON[apiUsersResponse](t, fx.api("GET", "/api/v1/users?q=zzz", nil, helen), http.StatusOK); u.Users == nil || len(u.Users) != 0 {
		t.Errorf("no match: %+v", u)
	}
	apiWantError(t, fx.api("GET", "/api/v1/users", nil, helen), http.StatusBadRequest, "invalid")

	w = fx.api("GET", "/api/v1/users/alice", nil, helen)
	detail := apiJSON[admin.UserDetail](t, w, http.StatusOK)
	if detail.Name != "alice" || len(detail.DeviceList) != 1 || detail.Directory != "builtin" {
		t.Fatalf("detail %+v", detail)
	}
	apiWantKeys(t, w.Body.String(), "created_at", "devices", "devices_list", "directory", "disabled", "failures",
		"has_password", "locked_out", "lockout", "name", "recent_audit")

	if err := fx.svc.LockUser(local(), "alice"); err != nil {
		t.Fatal(err)
	}
	if w := fx.api("POST", "/api/v1/users/alice/unlock", nil, helen); w.Code != http.StatusNoContent {
		t.Fatalf("unlock: %d %s", w.Code, w.Body)
	}
	if u, _ := fx.st.GetUser(context.Background(), "alice"); u.Disabled {
		t.Fatal("still locked")
	}
	w = fx.api("POST", "/api/v1/users/alice/reset-enrollment", nil, helen)
	if got := apiJSON[map[string]int](t, w, http.StatusOK); !maps.Equal(got, map[string]int{"removed": 1}) {
		t.Fatalf("reset: %v", got)
	}
	if len(fx.devicesOf("alice")) != 0 {
		t.Fatal("devices left after a reset")
	}
	apiWantError(t, fx.api("POST", "/api/v1/users/nobody/reset-enrollment", nil, helen), http.StatusNotFound, "not_found")

	// The reset ended alice's session: it was granted for her devices.
	apiWantError(t, fx.api("GET", "/api/v1/me", nil, alice), http.StatusUnauthorized, "unauthenticated")

	clients := apiJSON[map[string][]admin.ClientInfo](t, fx.api("GET", "/api/v1/clients", nil, helen), http.StatusOK)["clients"]
	if len(clients) != 1 || clients[0].Name != "vpn-gw" || clients[0].Requests != 3 {
		t.Errorf("clients %+v", clients)
	}
}

func TestAPIBypassCodeWorksOnce(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	fx.addTOTP("alice")
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)

	w := fx.api("POST", "/api/v1/users/alice/bypass-codes", map[string]any{"uses": 1, "ttl": "1h"}, helen)
	apiWantKeys(t, w.Body.String(), "code", "expires_at", "id", "uses")
	res := apiJSON[admin.BypassResult](t, w, http.StatusOK)
	if res.Uses != 1 || !res.ExpiresAt.Equal(fx.clock().Add(time.Hour)) || res.Code == "" {
		t.Fatalf("bypass %+v", res)
	}
	login := func() auth.Decision {
		return fx.engine.Decide(context.Background(), auth.Request{UserName: "alice", Password: "alice" + testPasswordSuffix + "," + res.Code})
	}
	if d := login(); d.Outcome != auth.Accept || d.Factor != auth.KindBypass {
		t.Fatalf("first use: %v/%s", d.Outcome, d.Reason)
	}
	if d := login(); d.Outcome != auth.Reject {
		t.Fatalf("second use: %v", d.Outcome)
	}
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/bypass-codes", map[string]any{"ttl": "soon"}, helen), http.StatusBadRequest, "invalid")
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/bypass-codes", map[string]any{"ttl": 3600}, helen), http.StatusBadRequest, "invalid")
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/bypass-codes", map[string]any{"uses": -1}, helen), http.StatusBadRequest, "invalid")
	// No body: one use, one hour.
	if res := apiJSON[admin.BypassResult](t, fx.api("POST", "/api/v1/users/alice/bypass-codes", nil, helen), http.StatusOK); res.Uses != 1 {
		t.Errorf("defaults: %+v", res)
	}
}

func TestAPIEnforcementIsAdminOnly(t *testing.T) {
	fx := newRealSite(t)
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)
	fx.tick()
	ada := fx.staffSignIn("ada", admin.RoleAdmin)
	before, _ := fx.st.Settings(context.Background())

	apiJSON[store.Settings](t, fx.api("GET", "/api/v1/settings", nil, helen), http.StatusOK)
	apiWantError(t, fx.api("PUT", "/api/v1/settings/enforcement", map[string]any{"mode": "off"}, helen), http.StatusNotFound, "not_found")
	if after, _ := fx.st.Settings(context.Background()); !after.UpdatedAt.Equal(before.UpdatedAt) || after.Enforcement.Mode != before.Enforcement.Mode {
		t.Fatalf("the help desk changed the settings: %+v", after)
	}

	w := fx.api("PUT", "/api/v1/settings/enforcement", map[string]any{"mode": "Optional", "groups": map[string]string{"admin": "required"},
		"methods": []string{"totp", "backup"}}, ada)
	apiWantKeys(t, w.Body.String(), "enforcement", "updated_at", "updated_by")
	got := apiJSON[store.Settings](t, w, http.StatusOK)
	if got.Enforcement.Mode != "optional" || got.Enforcement.Groups["admin"] != "required" ||
		!slices.Equal(got.Enforcement.Methods, []string{"backup", "totp"}) || got.UpdatedBy != "ada" {
		t.Fatalf("stored %+v", got)
	}
	if en := fx.engine.Enforcement(); en == nil || en.Global != auth.ModeOptional {
		t.Errorf("not in force: %+v", en)
	}
	apiWantError(t, fx.api("PUT", "/api/v1/settings/enforcement", map[string]any{"mode": "sometimes"}, ada), http.StatusBadRequest, "invalid")
	apiWantError(t, fx.api("PUT", "/api/v1/settings/enforcement", map[string]any{"mode": "off", "strict": true}, ada), http.StatusBadRequest, "invalid")
	apiWantError(t, fx.api("PUT", "/api/v1/settings/enforcement", nil, ada), http.StatusBadRequest, "invalid")
	if s := apiJSON[store.Settings](t, fx.api("GET", "/api/v1/settings", nil, ada), http.StatusOK); s.Enforcement.Mode != "optional" {
		t.Errorf("refused changes were made: %+v", s)
	}
}

func TestAPIAuditFilters(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice") // admin records "user.add" at t0, by test-setup
	fx.addUser("bob")
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)
	fx.mu.Lock()
	fx.now = fx.now.Add(10 * time.Minute) // within the session's idle timeout
	fx.mu.Unlock()
	t1 := fx.clock()
	fx.api("POST", "/api/v1/users/alice/unlock", nil, helen) // "user.unlock" at t1, by helen
	fx.do("POST", "/signin", url.Values{"user": {"alice"}, "password": {"wrong-password"}})

	audit := func(q string) []store.AuditRecord {
		t.Helper()
		return apiJSON[map[string][]store.AuditRecord](t, fx.api("GET", "/api/v1/audit"+q, nil, helen), http.StatusOK)["records"]
	}
	details := func(rs []store.AuditRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Detail)
		}
		return out
	}
	at := url.QueryEscape(t1.Format(time.RFC3339))
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"?user=alice&kind=admin", []string{"user.unlock", "user.add"}},
		{"?user=alice&kind=admin&since=" + at, []string{"user.unlock"}},
		{"?user=alice&kind=admin&until=" + at, []string{"user.add"}},
		{"?kind=admin&user=alice&since=2026-11-23", []string{"user.unlock", "user.add"}},
		{"?kind=admin&until=2026-11-23", nil},
		{"?user=alice&outcome=reject", []string{"sign-in"}},
		{"?user=alice&kind=admin&client=helen", []string{"user.unlock"}},
		{"?user=alice&kind=admin&limit=1", []string{"user.unlock"}},
	} {
		if got := details(audit(c.q)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.q, got, c.want)
		}
	}
	if rs := audit("?user=nobody"); rs == nil {
		t.Error("no match is not an empty list")
	}
	for _, q := range []string{"?since=yesterday", "?until=2026-11-23T10:00", "?limit=0", "?limit=10001", "?usr=alice", "?user=a&user=b",
		"?since=2026-11-23&until=2026-11-01"} {
		apiWantError(t, fx.api("GET", "/api/v1/audit"+q, nil, helen), http.StatusBadRequest, "invalid")
	}
	_, aliceSecret := fx.addTOTP("alice")
	alice := fx.signInTOTP("alice", aliceSecret)
	apiWantError(t, fx.api("GET", "/api/v1/audit", nil, alice), http.StatusNotFound, "not_found")
}
