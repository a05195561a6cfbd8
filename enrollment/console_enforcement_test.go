package enrollment

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
)

func TestConsoleEnforcementChangesTheEngine(t *testing.T) {
	fx := newConsoleSite(t)
	if d := fx.radius("alice", ""); d.Outcome == auth.Accept {
		t.Fatal("password alone accepted before the change")
	}
	wantRedirect(t, fx.do("POST", "/console/enforcement", url.Values{"mode": {"off"}}, fx.root), "/console/enforcement?done=saved")
	if d := fx.radius("alice", ""); d.Outcome != auth.Accept {
		t.Fatalf("mode off: %v %s", d.Outcome, d.Reason)
	}
	st := fx.settings()
	if st.Enforcement.Mode != "off" || st.UpdatedBy != "root" {
		t.Fatalf("settings %+v", st)
	}
	fx.wantAdminAudit("root", "", "enforcement.set mode=off")
	w := fx.do("GET", "/console/enforcement?done=saved", nil, fx.root)
	if !strings.Contains(w.Body.String(), consoleDone["saved"]) || !strings.Contains(w.Body.String(), `<option value="off" selected>`) {
		t.Errorf("the page after saving: %s", w.Body)
	}
}

func TestConsoleEnforcementRows(t *testing.T) {
	fx := newConsoleSite(t)
	form := url.Values{"mode": {"required"},
		"group_name": {"helpdesk", " ", "vpn-users"}, "group_mode": {"optional", "required", "required"},
		"client_name": {"vpn-gw", ""}, "client_mode": {"Off", "none"},
		"deadline": {"2026-12-31T18:00"}, "method": {"totp"}}
	wantRedirect(t, fx.do("POST", "/console/enforcement", form, fx.root), "/console/enforcement?done=saved")
	e := fx.settings().Enforcement
	if e.Mode != "required" || len(e.Groups) != 2 || e.Groups["helpdesk"] != "optional" || e.Groups["vpn-users"] != "required" ||
		len(e.Clients) != 1 || e.Clients["vpn-gw"] != "off" || !slices.Equal(e.Methods, []string{"totp"}) ||
		!e.Deadline.Equal(time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)) {
		t.Fatalf("stored %+v", e)
	}
	page := fx.do("GET", "/console/enforcement", nil, fx.root).Body.String()
	for _, s := range []string{`value="vpn-users"`, `value="2026-12-31T18:00"`, `id="method-totp" name="method" type="checkbox" value="totp" class="check" checked`} {
		if !strings.Contains(page, s) {
			t.Errorf("the form does not show %q", s)
		}
	}
	// "none" removes a row; the others stay.
	form["group_mode"] = []string{"none", "none", "required"}
	wantRedirect(t, fx.do("POST", "/console/enforcement", form, fx.root), "/console/enforcement?done=saved")
	if g := fx.settings().Enforcement.Groups; len(g) != 1 || g["vpn-users"] != "required" {
		t.Fatalf("groups after removing one: %v", g)
	}
}

func TestConsoleEnforcementRefusesBadInput(t *testing.T) {
	fx := newConsoleSite(t)
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"mode": {"sometimes"}}, "MFA mode must be one of"},
		{url.Values{"group_name": {"ops"}, "group_mode": {"always"}}, "group &#34;ops&#34;"},
		{url.Values{"group_name": {"ops", "ops"}, "group_mode": {"off", "required"}}, "listed twice"},
		{url.Values{"group_name": {"ops"}}, "needs a name and a mode"},
		{url.Values{"deadline": {"next tuesday"}}, "deadline must be a date"},
		{url.Values{"method": {"sms"}}, "unknown method"},
	} {
		w := fx.do("POST", "/console/enforcement", c.form, fx.root)
		wantStatus(t, w, http.StatusBadRequest, c.form.Encode())
		if !strings.Contains(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), `action="/console/enforcement"`) {
			t.Errorf("%s: want the form again with %q: %s", c.form.Encode(), c.want, w.Body)
		}
	}
	if st := fx.settings(); st.UpdatedBy != "" {
		t.Fatalf("refused input changed the settings: %+v", st)
	}
}

func TestConsoleHelpdeskCannotSetEnforcement(t *testing.T) {
	fx := newConsoleSite(t)
	wantStatus(t, fx.do("POST", "/console/enforcement", url.Values{"mode": {"off"}}, fx.helen), http.StatusNotFound, "help desk POST")
	if st := fx.settings(); st.Enforcement.Mode != "" || st.UpdatedBy != "" {
		t.Fatalf("settings changed: %+v", st)
	}
	if d := fx.radius("alice", ""); d.Outcome == auth.Accept {
		t.Fatal("the help desk turned MFA off")
	}
}
