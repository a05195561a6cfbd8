package enrollment

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"radiusmfa/admin"
	"radiusmfa/auth"
	"radiusmfa/store"
)

// The JSON API over the real site (docs/api.md). Requests come from
// 192.0.2.10 like the fixture's, so sign-ins and code proofs share one rate
// limit bucket; tests tick the clock where they make many.

// apiOrigin is where the tests send their requests: the site's default address.
const apiOrigin = "https://127.0.0.1:8443"

// apiRaw sends one request with a raw body and content type ("" for none).
func (fx *realSite) apiRaw(method, path, contentType, body string, c *http.Cookie, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, apiOrigin+path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.10:4000"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, r)
	return w
}

// api sends one request with body, unless nil, as JSON.
func (fx *realSite) api(method, path string, body any, c *http.Cookie) *httptest.ResponseRecorder {
	fx.t.Helper()
	if body == nil {
		return fx.apiRaw(method, path, "", "", c)
	}
	b, err := json.Marshal(body)
	if err != nil {
		fx.t.Fatal(err)
	}
	return fx.apiRaw(method, path, "application/json", string(b), c)
}

// apiJSON checks an answer's status and content type and decodes it into
// a T, refusing keys that T does not have: T is the documented shape.
func apiJSON[T any](t *testing.T, w *httptest.ResponseRecorder, status int) T {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	var v T
	dec := json.NewDecoder(strings.NewReader(w.Body.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
	return v
}

type apiErrorShape struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// apiWantError checks an error answer and returns its message.
func apiWantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	e := apiJSON[apiErrorShape](t, w, status)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %q and a message", e.Error, code)
	}
	return e.Error.Message
}

// apiKeys is the sorted top-level keys of a JSON object.
func apiKeys(t *testing.T, raw string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}

func apiWantKeys(t *testing.T, raw string, want ...string) {
	t.Helper()
	if got := apiKeys(t, raw); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v in %s", got, want, raw)
	}
}

// devicesOf reads a user's devices as the local admin would.
func (fx *realSite) devicesOf(user string) []admin.Device {
	fx.t.Helper()
	ds, err := fx.svc.ListDevices(local(), user)
	if err != nil {
		fx.t.Fatal(err)
	}
	return ds
}

func hasDevice(ds []admin.Device, id string) bool {
	return slices.ContainsFunc(ds, func(d admin.Device) bool { return d.ID == id })
}

// staffSignIn makes a user with role and a device, and signs them in.
func (fx *realSite) staffSignIn(name, role string) *http.Cookie {
	fx.t.Helper()
	fx.addUser(name, role)
	_, secret := fx.addTOTP(name)
	return fx.signInTOTP(name, secret)
}

func TestAPIRequiresSession(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/v1/me"}, {"GET", "/api/v1/users/alice/devices"}, {"POST", "/api/v1/users/alice/backup-codes"},
		{"GET", "/api/v1/audit"}, {"PUT", "/api/v1/settings/enforcement"}, {"GET", "/api/v1/no-such-thing"},
	} {
		apiWantError(t, fx.api(rt.method, rt.path, nil, nil), http.StatusUnauthorized, "unauthenticated")
	}
	// A session ends after 15 minutes without a request.
	c := fx.signInTOTP("alice", secret)
	apiJSON[apiMeResponse](t, fx.api("GET", "/api/v1/me", nil, c), http.StatusOK)
	fx.mu.Lock()
	fx.now = fx.now.Add(IdleTimeout)
	fx.mu.Unlock()
	apiWantError(t, fx.api("GET", "/api/v1/me", nil, c), http.StatusUnauthorized, "unauthenticated")
}

func TestAPIEnrollmentOnlySession(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("newbie")
	w := fx.do("POST", "/signin", url.Values{"user": {"newbie"}, "password": {"newbie" + testPasswordSuffix}})
	c := sessionOf(t, w)

	me := fx.api("GET", "/api/v1/me", nil, c)
	got := apiJSON[apiMeResponse](t, me, http.StatusOK)
	if got.User != "newbie" || got.Role != "" || got.Scope != "enroll" || got.Devices == nil || len(got.Devices) != 0 {
		t.Fatalf("/api/v1/me: %+v", got)
	}
	apiWantKeys(t, me.Body.String(), "devices", "role", "scope", "user")

	// The session is the user's own, yet good for nothing else.
	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/users/newbie/devices", nil}, {"POST", "/api/v1/users/newbie/backup-codes", nil},
		{"GET", "/api/v1/users/newbie/logins", nil}, {"GET", "/api/v1/users/newbie", nil},
		{"PATCH", "/api/v1/users/newbie/devices/x", map[string]string{"label": "x"}},
	} {
		apiWantError(t, fx.api(rt.method, rt.path, rt.body, c), http.StatusUnauthorized, "unauthenticated")
	}
	if ds := fx.devicesOf("newbie"); len(ds) != 0 {
		t.Fatalf("an enrollment-only session made devices: %+v", ds)
	}
}

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

func TestAPIStaffUserEndpoints(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, aliceSecret := fx.addTOTP("alice")
	alice := fx.signInTOTP("alice", aliceSecret)
	helen := fx.staffSignIn("helen", admin.RoleHelpdesk)

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

	// A plain user: the console's endpoints do not exist, except that
	// about their own name they are told it is not theirs to do.
	apiWantError(t, fx.api("GET", "/api/v1/users?q=hel", nil, alice), http.StatusNotFound, "not_found")
	apiWantError(t, fx.api("POST", "/api/v1/users/helen/unlock", nil, alice), http.StatusNotFound, "not_found")
	apiWantError(t, fx.api("POST", "/api/v1/users/alice/unlock", nil, alice), http.StatusForbidden, "forbidden")
	apiWantError(t, fx.api("GET", "/api/v1/clients", nil, alice), http.StatusNotFound, "not_found")

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
	for _, q := range []string{"?since=yesterday", "?until=2026-11-23T10:00", "?limit=0", "?limit=10001", "?usr=alice", "?user=a&user=b"} {
		apiWantError(t, fx.api("GET", "/api/v1/audit"+q, nil, helen), http.StatusBadRequest, "invalid")
	}
	_, aliceSecret := fx.addTOTP("alice")
	alice := fx.signInTOTP("alice", aliceSecret)
	apiWantError(t, fx.api("GET", "/api/v1/audit", nil, alice), http.StatusNotFound, "not_found")
}

func TestAPIRequestBodies(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	id, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	path := "/api/v1/users/alice/devices/" + id
	patch := func(contentType, body string) *httptest.ResponseRecorder {
		return fx.apiRaw("PATCH", path, contentType, body, c)
	}

	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx"} {
		apiWantError(t, patch(ct, `{"label":"x"}`), http.StatusUnsupportedMediaType, "unsupported_media_type")
	}
	apiWantError(t, fx.apiRaw("DELETE", path, "text/plain", `{"code":"12345678"}`, c), http.StatusUnsupportedMediaType, "unsupported_media_type")
	for _, body := range []string{`{"label":"x","colour":"red"}`, `{"label":"x"}{"label":"y"}`, `{"label":"x"} 1`, `{"label":`, `[]`, `null`, `"x"`, `{"disabled":"yes"}`} {
		apiWantError(t, patch("application/json", body), http.StatusBadRequest, "invalid")
	}
	if msg := apiWantError(t, patch("application/json", `{"label":"x","colour":"red"}`), http.StatusBadRequest, "invalid"); !strings.Contains(msg, `"colour"`) {
		t.Errorf("unknown field message %q", msg)
	}
	apiWantError(t, patch("application/json", ""), http.StatusBadRequest, "invalid")
	big := `{"label":"` + strings.Repeat("a", maxAPIBody) + `"}`
	apiWantError(t, patch("application/json", big), http.StatusRequestEntityTooLarge, "invalid")
	apiWantError(t, patch("application/json", `{"label":"x"}`+strings.Repeat(" ", maxAPIBody)), http.StatusRequestEntityTooLarge, "invalid")
	if ds := fx.devicesOf("alice"); ds[0].Label != "phone" {
		t.Fatalf("a refused body changed the device: %+v", ds[0])
	}
	d := apiJSON[admin.Device](t, patch("application/json; charset=UTF-8", `{"label":"x"}`+"\n"), http.StatusOK)
	if d.Label != "x" {
		t.Fatalf("device %+v", d)
	}
}

func TestAPIUnknownEndpoint(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	_, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	apiWantError(t, fx.api("GET", "/api/v1/nothing", nil, c), http.StatusNotFound, "not_found")
	apiWantError(t, fx.api("POST", "/api/v1/me", nil, c), http.StatusNotFound, "not_found")
}

// A browser's cross-site write never reaches the API (the site's
// CrossOriginProtection answers it); a script sends neither header.
func TestAPICrossSiteWriteRefused(t *testing.T) {
	fx := newRealSite(t)
	fx.addUser("alice")
	id, secret := fx.addTOTP("alice")
	c := fx.signInTOTP("alice", secret)
	path := "/api/v1/users/alice/devices/" + id
	body := `{"label":"evil"}`
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://127.0.0.2:8443"}} {
		if w := fx.apiRaw("PATCH", path, "application/json", body, c, h...); w.Code != http.StatusForbidden {
			t.Errorf("%s: %d %s", h, w.Code, w.Body)
		}
	}
	if fx.devicesOf("alice")[0].Label != "phone" {
		t.Fatal("a cross-site request changed the device")
	}
	for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", apiOrigin}} {
		apiJSON[admin.Device](t, fx.apiRaw("PATCH", path, "application/json", `{"label":"ok"}`, c, h...), http.StatusOK)
	}
}
