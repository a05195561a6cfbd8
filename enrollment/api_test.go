package enrollment

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"radiusmfa/admin"
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
