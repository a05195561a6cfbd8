package enrollment

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
)

func TestAPIMe(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	id, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)

	w := fx.api("GET", "/api/v1/me", nil, c)
	me := apiJSON[apiMeResponse](t, w, http.StatusOK)
	if me.User != "alice" || me.Role != "" || me.Scope != "user" || len(me.Devices) != 1 {
		t.Fatalf("/api/v1/me: %+v", me)
	}
	d := me.Devices[0]
	if d.ID != id || d.Kind != "totp" || d.Label != "phone" || d.Disabled || !d.CreatedAt.Equal(fx.clock().Add(-30*time.Second)) {
		t.Errorf("device %+v", d)
	}
	// The documented shape: a device used once has last_used_at.
	var raw struct{ Devices []json.RawMessage }
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	apiWantKeys(t, string(raw.Devices[0]), "created_at", "disabled", "id", "kind", "label", "last_used_at")

	admins := fx.staffSignIn("ada", admin.RoleAdmin)
	if me := apiJSON[apiMeResponse](t, fx.api("GET", "/api/v1/me", nil, admins), http.StatusOK); me.Role != "admin" {
		t.Errorf("an admin's role: %q", me.Role)
	}
}

// Invariant: a user cannot read or change another user's devices through
// the API, and the answer is the one for a user who does not exist.
func TestAPIInvariantOtherUsersDevicesAreNotFound(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	aliceDev, _ := fx.addTOTP("alice")
	fx.addUser("bob")
	_, bobSecret := fx.addTOTP("bob")
	c := fx.signInTOTP("bob", bobSecret)
	before := fx.devicesOf("alice")

	alice := fx.api("GET", "/api/v1/users/alice/devices", nil, c)
	apiWantError(t, alice, http.StatusNotFound, "not_found")
	nobody := fx.api("GET", "/api/v1/users/nobody/devices", nil, c)
	if alice.Body.String() != nobody.Body.String() {
		t.Errorf("another user (%s) and no user (%s) answer differently", alice.Body, nobody.Body)
	}
	dev := "/api/v1/users/alice/devices/" + aliceDev
	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", dev, map[string]any{"label": "mine now"}},
		{"PATCH", dev, map[string]any{"disabled": true}},
		{"PATCH", dev, map[string]any{"preferred": true}},
		{"DELETE", dev, nil},
		{"DELETE", dev, map[string]string{"code": fx.code(bobSecret)}},
		{"POST", "/api/v1/users/alice/backup-codes", nil},
		{"GET", "/api/v1/users/alice/logins", nil},
		{"GET", "/api/v1/users/alice", nil},
		{"POST", "/api/v1/users/alice/unlock", nil},
		{"POST", "/api/v1/users/alice/bypass-codes", nil},
		{"POST", "/api/v1/users/alice/reset-enrollment", nil},
	} {
		w := fx.api(rt.method, rt.path, rt.body, c)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s %s: %d %s, want 404", rt.method, rt.path, w.Code, w.Body)
		}
	}
	if after := fx.devicesOf("alice"); !slices.Equal(after, before) {
		t.Fatalf("alice's devices changed:\n%+v\n%+v", before, after)
	}
}

func TestAPIPatchDevice(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	id, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	path := "/api/v1/users/alice/devices/" + id

	w := fx.api("PATCH", path, map[string]any{"label": "work phone", "preferred": true}, c)
	d := apiJSON[admin.Device](t, w, http.StatusOK)
	if d.ID != id || d.Label != "work phone" || !d.Preferred {
		t.Fatalf("after PATCH: %+v", d)
	}
	apiWantKeys(t, w.Body.String(), "created_at", "disabled", "id", "kind", "label", "last_used_at", "preferred")

	// Disabling is the help desk's: a user asking about their own device
	// is told so (there is no one to hide), and nothing changes.
	apiWantError(t, fx.api("PATCH", path, map[string]any{"disabled": true}, c), http.StatusForbidden, "forbidden")
	for _, body := range []any{map[string]any{}, map[string]any{"preferred": false}, map[string]any{"label": " "}} {
		apiWantError(t, fx.api("PATCH", path, body, c), http.StatusBadRequest, "invalid")
	}
	apiWantError(t, fx.api("PATCH", "/api/v1/users/alice/devices/nope", map[string]any{"label": "x"}, c), http.StatusNotFound, "not_found")
	if ds := fx.devicesOf("alice"); ds[0].Disabled || ds[0].Label != "work phone" {
		t.Fatalf("refused changes were made: %+v", ds[0])
	}

	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)
	d = apiJSON[admin.Device](t, fx.api("PATCH", path, map[string]any{"disabled": true}, helen), http.StatusOK)
	if !d.Disabled {
		t.Fatalf("the help desk did not disable the device: %+v", d)
	}
	if r := fx.lastAudit(1)[0]; r.Client != "helen" || r.Detail != "device.disable "+id {
		t.Errorf("audit %+v", r)
	}
}

func TestAPIDeleteOwnDeviceNeedsAnotherFactor(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	d1, s1 := fx.addTOTP("alice")
	d2, s2 := fx.addTOTP("alice")
	d3, s3 := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", s1)
	del := func(id string, body any) *httptest.ResponseRecorder {
		return fx.api("DELETE", "/api/v1/users/alice/devices/"+id, body, c)
	}

	msg := apiWantError(t, del(d1, nil), http.StatusForbidden, "forbidden")
	if msg != "a current code from another device or a backup code is required" {
		t.Errorf("message %q", msg)
	}
	// The device being removed cannot vouch for itself.
	apiWantError(t, del(d1, map[string]string{"code": fx.code(s1)}), http.StatusForbidden, "forbidden")
	if !hasDevice(fx.devicesOf("alice"), d1) {
		t.Fatal("removed without proof")
	}
	spent := fx.code(s2)
	if w := del(d1, map[string]string{"code": spent}); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("with a code of another device: %d %s", w.Code, w.Body)
	}
	if hasDevice(fx.devicesOf("alice"), d1) {
		t.Fatal("the device is still there")
	}
	// That code is used up, as after a login.
	apiWantError(t, del(d3, map[string]string{"code": spent}), http.StatusForbidden, "forbidden")
	// No code is spent on a device that does not exist.
	fx.tick()
	fresh := fx.code(s3)
	apiWantError(t, del("nope", map[string]string{"code": fresh}), http.StatusNotFound, "not_found")
	if w := del(d2, map[string]string{"code": fresh}); w.Code != http.StatusNoContent {
		t.Fatalf("with a code not spent on a missing device: %d %s", w.Code, w.Body)
	}

	// A backup code proves it too, once.
	codes := apiJSON[map[string][]string](t, fx.api("POST", "/api/v1/users/alice/backup-codes", nil, c), http.StatusOK)["codes"]
	fx.tick()
	if w := del(d3, map[string]string{"code": codes[0]}); w.Code != http.StatusNoContent {
		t.Fatalf("with a backup code: %d %s", w.Code, w.Body)
	}
	d4, _ := fx.addTOTP("alice")
	apiWantError(t, del(d4, map[string]string{"code": codes[0]}), http.StatusForbidden, "forbidden")
	if w := del(d4, map[string]string{"code": codes[1]}); w.Code != http.StatusNoContent {
		t.Fatalf("with another backup code: %d %s", w.Code, w.Body)
	}
	if ds := fx.devicesOf("alice"); len(ds) != 1 || ds[0].Kind != "backup" {
		t.Fatalf("left: %+v", ds)
	}
}

func TestAPIDeviceRemovalGuessesAreLimited(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	d1, s1 := fx.addTOTP("alice")
	fx.addTOTP("alice")
	c := fx.signInTOTP("alice", s1)
	limited := false
	for range signinBurst + 1 {
		w := fx.api("DELETE", "/api/v1/users/alice/devices/"+d1, map[string]string{"code": "00000000"}, c)
		if w.Code == http.StatusTooManyRequests {
			apiWantError(t, w, http.StatusTooManyRequests, "rate_limited")
			limited = true
			break
		}
		apiWantError(t, w, http.StatusForbidden, "forbidden")
	}
	if !limited {
		t.Fatal("code guesses were not rate limited")
	}
}

func TestAPIStaffDeletesAnyDevice(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	id, _ := fx.addTOTP("alice")
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)
	if w := fx.api("DELETE", "/api/v1/users/alice/devices/"+id, nil, helen); w.Code != http.StatusNoContent {
		t.Fatalf("help desk removal: %d %s", w.Code, w.Body)
	}
	if len(fx.devicesOf("alice")) != 0 {
		t.Fatal("the device is still there")
	}
	if r := fx.lastAudit(1)[0]; r.Client != "helen" || r.User != "alice" || r.Detail != "device.remove "+id {
		t.Errorf("audit %+v", r)
	}
}

func TestAPIBackupCodes(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)

	w := fx.api("POST", "/api/v1/users/alice/backup-codes", nil, c)
	apiWantKeys(t, w.Body.String(), "codes")
	codes := apiJSON[map[string][]string](t, w, http.StatusOK)["codes"]
	eight := regexp.MustCompile(`^[0-9]{8}$`)
	if len(codes) != 10 || !eight.MatchString(codes[0]) {
		t.Fatalf("codes %q", codes)
	}
	if d := fx.radius("alice", codes[0]); d.Outcome != auth.Accept || d.Factor != "backup" {
		t.Fatalf("a backup code over RADIUS: %v/%s", d.Outcome, d.Reason)
	}
	// An empty object is an empty body; anything in it is not.
	apiJSON[map[string][]string](t, fx.api("POST", "/api/v1/users/alice/backup-codes", map[string]any{}, c), http.StatusOK)
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/backup-codes", map[string]any{"count": 5}, c), http.StatusBadRequest, "invalid")
	// Only the user sees their codes: not even the help desk.
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/backup-codes", nil, helen), http.StatusNotFound, "not_found")
}

func TestAPILoginsAndReport(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	fx.addUser("bob")
	_, bobSecret := fx.addTOTP("bob")
	fx.signInTOTP("alice", secret)
	c := fx.signInTOTP("alice", secret)
	bob := fx.signInTOTP("bob", bobSecret)

	w := fx.api("GET", "/api/v1/users/alice/logins", nil, c)
	logins := apiJSON[map[string][]store.AuditRecord](t, w, http.StatusOK)["logins"]
	if len(logins) != 2 || logins[0].Kind != "web" || logins[0].User != "alice" || logins[0].Outcome != "accept" || logins[0].Seq <= logins[1].Seq {
		t.Fatalf("logins %+v", logins)
	}
	var raw struct{ Logins []json.RawMessage }
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	apiWantKeys(t, string(raw.Logins[0]), "calling_station_id", "client", "detail", "duration", "factor", "kind", "outcome", "reason", "seq", "time", "user")
	if l := apiJSON[map[string][]store.AuditRecord](t, fx.api("GET", "/api/v1/users/alice/logins?limit=1", nil, c), http.StatusOK)["logins"]; len(l) != 1 {
		t.Errorf("limit=1: %d logins", len(l))
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?limit=1&limit=2", "?lmit=1"} {
		apiWantError(t, fx.api("GET", "/api/v1/users/alice/logins"+q, nil, c), http.StatusBadRequest, "invalid")
	}

	seq := strconv.FormatUint(logins[0].Seq, 10)
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/logins/"+seq+"/report", nil, bob), http.StatusNotFound, "not_found")
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/logins/x/report", nil, c), http.StatusBadRequest, "invalid")
	if w := fx.api("POST", "/api/v1/users/alice/logins/"+seq+"/report", nil, c); w.Code != http.StatusNoContent {
		t.Fatalf("report: %d %s", w.Code, w.Body)
	}
	fx.mu.Lock()
	alerts := slices.Clone(fx.alerts)
	fx.mu.Unlock()
	if len(alerts) != 1 || alerts[0].User != "alice" || alerts[0].Kind != admin.KindReport {
		t.Fatalf("alerts %+v", alerts)
	}
	// Staff read anyone's logins.
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)
	apiJSON[map[string][]store.AuditRecord](t, fx.api("GET", "/api/v1/users/alice/logins", nil, helen), http.StatusOK)
}
