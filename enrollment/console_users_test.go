package enrollment

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"radiusmfa/auth"
)

func TestConsoleUserSearchRefusesBadQueries(t *testing.T) {
	fx := newConsoleSite(t)
	for _, q := range []string{"", strings.Repeat("a", 65)} {
		w := fx.do("GET", "/console/users?q="+q, nil, fx.helen)
		wantStatus(t, w, http.StatusBadRequest, "query "+q)
		if !strings.Contains(w.Body.String(), "enter 1-64 characters") {
			t.Errorf("query %q: no message from the service: %s", q, w.Body)
		}
	}
}

func TestConsoleDisableDeviceStopsLogins(t *testing.T) {
	fx := newConsoleSite(t)
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Accept {
		t.Fatalf("before: %v %s", d.Outcome, d.Reason)
	}
	dev := "/console/users/alice/devices/" + fx.aliceDevice
	wantRedirect(t, fx.do("POST", dev+"/disable", url.Values{}, fx.helen), "/console/users/alice?done=disabled")
	fx.wantAdminAudit("helen", "alice", "device.disable "+fx.aliceDevice)
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Reject {
		t.Fatalf("disabled device: %v %s, want reject", d.Outcome, d.Reason)
	}
	if d := fx.radius("alice", ""); d.Outcome == auth.Accept {
		t.Fatal("a user whose devices are all disabled got in on the password")
	}
	if w := fx.do("GET", "/console/users/alice", nil, fx.helen); !strings.Contains(w.Body.String(), dev+"/enable") {
		t.Error("no Enable button for the disabled device")
	}
	wantRedirect(t, fx.do("POST", dev+"/enable", url.Values{}, fx.helen), "/console/users/alice?done=enabled")
	fx.wantAdminAudit("helen", "alice", "device.enable "+fx.aliceDevice)
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Accept {
		t.Fatalf("enabled again: %v %s", d.Outcome, d.Reason)
	}
	wantStatus(t, fx.do("POST", "/console/users/alice/devices/nosuch/disable", url.Values{}, fx.helen), http.StatusNotFound, "unknown device")
}

func TestConsoleDeleteDeviceNeedsConfirmation(t *testing.T) {
	fx := newConsoleSite(t)
	path := "/console/users/alice/devices/" + fx.aliceDevice + "/delete"
	w := fx.do("POST", path, url.Values{}, fx.helen)
	wantStatus(t, w, http.StatusBadRequest, "delete without confirmation")
	if len(fx.devices("alice")) != 1 {
		t.Fatal("deleted without confirmation")
	}
	if !strings.Contains(w.Body.String(), `name="confirm" value="yes"`) {
		t.Error("an unconfirmed delete does not ask again")
	}
	wantRedirect(t, fx.do("POST", path, url.Values{"confirm": {"yes"}}, fx.helen), "/console/users/alice?done=deleted")
	if len(fx.devices("alice")) != 0 {
		t.Fatal("the device is still there")
	}
	fx.wantAdminAudit("helen", "alice", "device.remove "+fx.aliceDevice)
	wantStatus(t, fx.do("GET", path, nil, fx.helen), http.StatusNotFound, "confirmation page of a deleted device")
}

func TestConsoleUnlock(t *testing.T) {
	fx := newConsoleSite(t)
	for range 5 {
		fx.engine.Decide(context.Background(), auth.Request{UserName: "alice", Password: "wrong-password,123456", Client: "vpn-gw"})
	}
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Reject {
		t.Fatalf("alice is not locked out: %v", d.Outcome)
	}
	if w := fx.do("GET", "/console/users/alice", nil, fx.helen); !strings.Contains(w.Body.String(), "yes, ") {
		t.Error("the user page does not show the lockout")
	}
	wantRedirect(t, fx.do("POST", "/console/users/alice/unlock", url.Values{}, fx.helen), "/console/users/alice?done=unlocked")
	fx.wantAdminAudit("helen", "alice", "user.unlock")
	if l, _ := fx.st.Lockout(context.Background(), "alice"); l.Active(fx.clock()) || l.Failures != 0 {
		t.Fatalf("lockout after unlock: %+v", l)
	}
	if d := fx.radius("alice", fx.aliceCode()); d.Outcome != auth.Accept {
		t.Fatalf("after unlock: %v %s", d.Outcome, d.Reason)
	}
}

func TestConsoleResetEnrollment(t *testing.T) {
	fx := newConsoleSite(t)
	w := fx.do("POST", "/console/users/alice/reset", url.Values{}, fx.helen)
	wantStatus(t, w, http.StatusBadRequest, "reset without confirmation")
	if len(fx.devices("alice")) != 1 || !strings.Contains(w.Body.String(), "Tick the box") {
		t.Fatalf("reset without confirmation: devices %d, page %s", len(fx.devices("alice")), w.Body)
	}
	wantRedirect(t, fx.do("POST", "/console/users/alice/reset", url.Values{"confirm": {"yes"}}, fx.helen), "/console/users/alice?done=reset")
	if n := len(fx.devices("alice")); n != 0 {
		t.Fatalf("%d devices left", n)
	}
	fx.wantAdminAudit("helen", "alice", "user.reset_enrollment devices=1")
}

var bypassCodeRE = regexp.MustCompile(`<code id="code">([0-9]+)</code>`)

func TestConsoleBypassCodeWorksOnce(t *testing.T) {
	fx := newConsoleSite(t)
	w := fx.do("POST", "/console/users/alice/bypass", url.Values{"uses": {"1"}, "ttl": {"15m"}}, fx.helen)
	wantStatus(t, w, http.StatusOK, "issue bypass")
	m := bypassCodeRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no code on the page: %s", w.Body)
	}
	if want := fx.clock().Add(15 * time.Minute).UTC().Format(consoleMinute); !strings.Contains(w.Body.String(), want) {
		t.Errorf("no expiry %q on the page", want)
	}
	fx.wantAdminAudit("helen", "alice", "bypass.issue ")
	if d := fx.radius("alice", m[1]); d.Outcome != auth.Accept || d.Factor != auth.KindBypass {
		t.Fatalf("first use: %v %s %q", d.Outcome, d.Reason, d.Factor)
	}
	if d := fx.radius("alice", m[1]); d.Outcome != auth.Reject {
		t.Fatalf("second use: %v, want reject", d.Outcome)
	}
	// The user page lists the code, without it.
	page := fx.do("GET", "/console/users/alice", nil, fx.helen).Body.String()
	if !strings.Contains(page, "bypass") || strings.Contains(page, m[1]) {
		t.Error("the user page does not list the bypass code, or shows it again")
	}
}

func TestConsoleBypassRefusesBadForms(t *testing.T) {
	fx := newConsoleSite(t)
	for _, f := range []url.Values{
		{"uses": {"0"}, "ttl": {"1h"}}, {"uses": {"101"}, "ttl": {"1h"}}, {"uses": {"x"}, "ttl": {"1h"}},
		{"uses": {"1"}, "ttl": {"1y"}}, {"uses": {"1"}},
	} {
		w := fx.do("POST", "/console/users/alice/bypass", f, fx.helen)
		wantStatus(t, w, http.StatusBadRequest, f.Encode())
		if !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Errorf("%s: no message", f.Encode())
		}
	}
	if n := len(fx.devices("alice")); n != 1 {
		t.Fatalf("refused forms made devices: %d", n)
	}
}

// The help desk manages users, not admins: no bypass code, device change or
// reset on an admin's account, and the admin's page is not found.
func TestConsoleHelpdeskCannotTouchAdmins(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("root", "admin")
	fx.addUser("helen", "helpdesk")
	rootDev, _ := fx.addTOTP("root")
	_, hs := fx.addTOTP("helen")
	c := fx.signInTOTP("helen", hs)
	for _, path := range []string{"/console/users/root/bypass", "/console/users/root/reset", "/console/users/root/unlock",
		"/console/users/root/devices/" + rootDev + "/disable", "/console/users/root/devices/" + rootDev + "/delete"} {
		if w := fx.do("POST", path, url.Values{"uses": {"1"}, "ttl": {"1h"}, "confirm": {"yes"}}, c); w.Code != http.StatusNotFound {
			t.Errorf("helpdesk POST %s: %d, want 404", path, w.Code)
		}
	}
	if w := fx.do("GET", "/console/users/root", nil, c); w.Code != http.StatusNotFound {
		t.Errorf("helpdesk GET root's page: %d", w.Code)
	}
	devs, _ := fx.st.Enrollments(context.Background(), "root")
	if len(devs) != 1 || devs[0].Disabled {
		t.Errorf("root's devices changed: %+v", devs)
	}
}

// Sessions end when the help desk takes something from the user: a phone
// thief's open session does not outlive the phone being disabled.
func TestConsoleChangesEndTheUsersSessions(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("helen", "helpdesk")
	fx.addUser("alice")
	_, hs := fx.addTOTP("helen")
	phone, as := fx.addTOTP("alice")
	thief := fx.signInTOTP("alice", as)
	other := fx.signInTOTP("alice", as)
	staff := fx.signInTOTP("helen", hs)
	if w := fx.do("GET", "/me", nil, thief); w.Code != http.StatusOK {
		t.Fatalf("alice's session before: %d", w.Code)
	}
	if w := fx.do("POST", "/console/users/alice/devices/"+phone+"/disable", url.Values{}, staff); w.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", w.Code, w.Body)
	}
	for _, c := range []*http.Cookie{thief, other} {
		if w := fx.do("GET", "/me", nil, c); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin" {
			t.Errorf("alice's session after her phone was disabled: %d %q", w.Code, w.Header().Get("Location"))
		}
	}
	if w := fx.do("GET", "/console", nil, staff); w.Code != http.StatusOK {
		t.Errorf("the help desk's own session ended: %d", w.Code)
	}
}
