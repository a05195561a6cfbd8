package enrollment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/factors"
	"radiusmfa/store"
)

// The JSON API sits behind the site's own sign-in: the session cookie of a
// browser (or a script that signed in through /signin) is its only
// credential, and every decision about who may do what is the service's.
// Reference: docs/api.md.

// maxAPIBody bounds a request body; the largest real one (enforcement
// settings) is a few hundred bytes.
const maxAPIBody = 64 << 10

// Error codes of the API (docs/api.md lists the status of each).
const (
	apiCodeInvalid     = "invalid"
	apiCodeUnauth      = "unauthenticated"
	apiCodeForbidden   = "forbidden"
	apiCodeNotFound    = "not_found"
	apiCodeConflict    = "conflict"
	apiCodeMediaType   = "unsupported_media_type"
	apiCodeRateLimited = "rate_limited"
	apiCodeInternal    = "internal"
)

// apiMsgNeedProof refuses a user's removal of their own device.
const apiMsgNeedProof = "a current code from another device or a backup code is required"

// apiError is an answer decided in the API layer itself: its message is
// meant for the caller.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func apiInvalid(format string, a ...any) error {
	return &apiError{http.StatusBadRequest, apiCodeInvalid, fmt.Sprintf(format, a...)}
}

// apiFunc serves one endpoint for a session. A nil body answers 204.
type apiFunc func(w http.ResponseWriter, r *http.Request, s session) (any, error)

// apiRoutes serves the JSON API.
func (p *pages) apiRoutes(mux *http.ServeMux) {
	routes := []struct {
		pattern string
		f       apiFunc
	}{
		{"GET /api/v1/users/{name}/devices", p.apiDevices},
		{"PATCH /api/v1/users/{name}/devices/{id}", p.apiPatchDevice},
		{"DELETE /api/v1/users/{name}/devices/{id}", p.apiDeleteDevice},
		{"POST /api/v1/users/{name}/backup-codes", p.apiBackupCodes},
		{"GET /api/v1/users/{name}/logins", p.apiLogins},
		{"POST /api/v1/users/{name}/logins/{seq}/report", p.apiReportLogin},
		{"GET /api/v1/users", p.apiSearchUsers},
		{"GET /api/v1/users/{name}", p.apiUserDetail},
		{"POST /api/v1/users/{name}/unlock", p.apiUnlock},
		{"POST /api/v1/users/{name}/reset-enrollment", p.apiResetEnrollment},
		{"POST /api/v1/users/{name}/bypass-codes", p.apiBypass},
		{"GET /api/v1/audit", p.apiAudit},
		{"GET /api/v1/clients", p.apiClients},
		{"GET /api/v1/settings", p.apiSettings},
		{"PUT /api/v1/settings/enforcement", p.apiSetEnforcement},
	}
	for _, rt := range routes {
		mux.Handle(rt.pattern, p.api(false, rt.f))
	}
	// An enrollment-only session may read who it is (and learn that it
	// must enroll), nothing else.
	mux.Handle("GET /api/v1/me", p.api(true, p.apiMe))
	mux.Handle("/api/v1/", p.api(true, func(http.ResponseWriter, *http.Request, session) (any, error) {
		return nil, &apiError{http.StatusNotFound, apiCodeNotFound, "no such endpoint (or not with this method)"}
	}))
}

// api wraps an endpoint: a session is required, and a full one unless
// enrollOK; the answer is JSON.
func (p *pages) api(enrollOK bool, f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := p.sessions.get(r)
		switch {
		case !ok:
			writeAPIError(w, http.StatusUnauthorized, apiCodeUnauth, "sign in first: POST /signin, then send the session cookie")
			return
		case s.scope != ScopeUser && !enrollOK:
			writeAPIError(w, http.StatusUnauthorized, apiCodeUnauth, "this session may only enroll a first device: sign in with a code")
			return
		}
		body, err := f(w, r, s)
		switch {
		case err != nil:
			p.apiFail(w, r, s, err)
		case body == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			p.writeJSON(w, r, http.StatusOK, body)
		}
	})
}

// apiFail answers a failed call. A service refusal is 404, as for a user
// that does not exist, except about the caller's own name, where there is
// nothing to hide and 403 says what happened.
func (p *pages) apiFail(w http.ResponseWriter, r *http.Request, s session, err error) {
	if ae, ok := errors.AsType[*apiError](err); ok {
		writeAPIError(w, ae.status, ae.code, ae.msg)
		return
	}
	if errors.Is(err, admin.ErrForbidden) && r.PathValue("name") == s.user {
		writeAPIError(w, http.StatusForbidden, apiCodeForbidden, "your role does not allow this")
		return
	}
	status, msg := serviceStatus(err)
	code := map[int]string{http.StatusBadRequest: apiCodeInvalid, http.StatusNotFound: apiCodeNotFound,
		http.StatusConflict: apiCodeConflict}[status]
	if code == "" {
		code = apiCodeInternal
		p.log.Error("enrollment: api", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("user", s.user), slog.Any("err", err))
	}
	writeAPIError(w, status, code, msg)
}

func (p *pages) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.log.Error("enrollment: api: encoding a response", slog.String("path", r.URL.Path), slog.Any("err", err))
		writeAPIError(w, http.StatusInternalServerError, apiCodeInternal, "Internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, _ := json.Marshal(struct {
		Error body `json:"error"`
	}{body{code, msg}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// readJSON decodes the request's body, one JSON object of at most
// maxAPIBody bytes with no unknown field, into v. Without a body, v is
// left as it is if the body is optional.
func readJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength == 0 {
		if optional {
			return nil
		}
		return apiInvalid("a JSON body is required")
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if cs, ok := params["charset"]; err != nil || mt != "application/json" || (ok && !strings.EqualFold(cs, "utf-8")) {
		return &apiError{http.StatusUnsupportedMediaType, apiCodeMediaType, "send Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var raw json.RawMessage
	err = dec.Decode(&raw)
	switch {
	case errors.Is(err, io.EOF) && optional:
		return nil // an empty chunked body
	case err == nil:
		// One value only: anything after it but white space is refused.
		if _, err = dec.Token(); errors.Is(err, io.EOF) {
			err = nil
		} else if err == nil {
			err = errors.New("more than one JSON value")
		}
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &apiError{http.StatusRequestEntityTooLarge, apiCodeInvalid, fmt.Sprintf("the body is larger than %d KiB", maxAPIBody>>10)}
	}
	if err == nil && raw[0] != '{' {
		err = errors.New("the body must be a JSON object")
	}
	if err == nil {
		strict := json.NewDecoder(bytes.NewReader(raw))
		strict.DisallowUnknownFields()
		err = strict.Decode(v)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		// Its own text names Go types; the caller knows JSON ones.
		return apiInvalid("request body: field %q cannot be a JSON %s", te.Field, te.Value)
	}
	if err != nil {
		return apiInvalid("request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// apiQuery returns the query parameters, refusing one not in allowed or
// given twice: a mistyped filter would otherwise widen a search silently.
func apiQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiInvalid("malformed query string")
	}
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			return nil, apiInvalid("unknown parameter %q (known: %s)", k, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, apiInvalid("parameter %q given more than once", k)
		}
	}
	return q, nil
}

// apiInt reads an optional integer parameter in [lo, hi]; def when absent.
func apiInt(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, apiInvalid("%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// apiTime reads an optional RFC 3339 time or a date (midnight UTC).
func apiTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, apiInvalid("%s must be an RFC 3339 time (2026-11-23T10:00:00Z) or a date (2026-11-23)", name)
}

// apiList makes a nil list encode as [] rather than null.
func apiList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type apiMeResponse struct {
	User    string         `json:"user"`
	Role    string         `json:"role"`
	Scope   string         `json:"scope"`
	Devices []admin.Device `json:"devices"`
}

func (p *pages) apiMe(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), s.user)
	if errors.Is(err, store.ErrNotFound) {
		// A directory user with no record yet: no device either.
		err = nil
	}
	if err != nil {
		return nil, err
	}
	scope := "user"
	if s.scope != ScopeUser {
		scope = "enroll"
	}
	return apiMeResponse{User: s.user, Role: principal(s).Role, Scope: scope, Devices: apiList(devs)}, nil
}

func (p *pages) apiDevices(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return map[string][]admin.Device{"devices": apiList(devs)}, nil
}

// apiDevicePatch is the body of PATCH …/devices/{id}: the fields to change.
type apiDevicePatch struct {
	Label     *string `json:"label"`
	Disabled  *bool   `json:"disabled"`
	Preferred *bool   `json:"preferred"`
}

// apiPatchDevice applies the changes in a fixed order (disabled, label,
// preferred), stopping at the first refused one, and answers the device.
func (p *pages) apiPatchDevice(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var b apiDevicePatch
	if err := readJSON(w, r, &b, false); err != nil {
		return nil, err
	}
	switch {
	case b.Label == nil && b.Disabled == nil && b.Preferred == nil:
		return nil, apiInvalid("nothing to change: send label, disabled or preferred")
	case b.Preferred != nil && !*b.Preferred:
		return nil, apiInvalid("preferred can only be set to true (prefer another device instead)")
	}
	ctx, svc, name, id := as(r, s), p.deps.Admin, r.PathValue("name"), r.PathValue("id")
	if b.Disabled != nil {
		if err := svc.SetDeviceDisabled(ctx, name, id, *b.Disabled); err != nil {
			return nil, err
		}
	}
	if b.Label != nil {
		if err := svc.RenameDevice(ctx, name, id, *b.Label); err != nil {
			return nil, err
		}
	}
	if b.Preferred != nil {
		if err := svc.SetPreferred(ctx, name, id); err != nil {
			return nil, err
		}
	}
	return p.apiDevice(r, s, name, id)
}

// apiDevice reads one device of a user.
func (p *pages) apiDevice(r *http.Request, s session, name, id string) (admin.Device, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), name)
	if err != nil {
		return admin.Device{}, err
	}
	i := slices.IndexFunc(devs, func(d admin.Device) bool { return d.ID == id })
	if i < 0 {
		return admin.Device{}, fmt.Errorf("%w: device %q", store.ErrNotFound, id)
	}
	return devs[i], nil
}

// apiDeleteDevice removes a device. Staff may remove any; a user removing
// their own proves first, with a current code of another device or a
// backup code, that the account is theirs: a stolen session alone cannot
// strip it of its factors.
func (p *pages) apiDeleteDevice(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var b struct {
		Code string `json:"code"`
	}
	if err := readJSON(w, r, &b, true); err != nil {
		return nil, err
	}
	ctx, svc, name, id := as(r, s), p.deps.Admin, r.PathValue("name"), r.PathValue("id")
	if !principal(s).Staff() {
		// The device must exist before a code is spent on removing it.
		if _, err := p.apiDevice(r, s, name, id); err != nil {
			return nil, err
		}
		if b.Code != "" && !p.limit.allow(apiSource(r)) {
			return nil, &apiError{http.StatusTooManyRequests, apiCodeRateLimited, "too many attempts from your address: wait a minute"}
		}
		switch err := svc.ProveFactor(ctx, name, b.Code, id); {
		case errors.Is(err, factors.ErrInvalidCode):
			p.log.Info("enrollment: api: device removal refused without a valid code", slog.String("user", s.user), slog.String("device", id))
			return nil, &apiError{http.StatusForbidden, apiCodeForbidden, apiMsgNeedProof}
		case err != nil:
			return nil, err
		}
	}
	return nil, svc.RemoveDevice(ctx, name, id)
}

// apiSource is the client's address, as the sign-in's rate limit keys it.
func apiSource(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr()
}

func (p *pages) apiBackupCodes(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	if err := readJSON(w, r, &struct{}{}, true); err != nil {
		return nil, err
	}
	codes, err := p.deps.Admin.NewBackupCodes(as(r, s), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return map[string][]string{"codes": codes}, nil
}

func (p *pages) apiLogins(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	q, err := apiQuery(r, "limit")
	if err != nil {
		return nil, err
	}
	n, err := apiInt(q, "limit", 20, 1, 1000)
	if err != nil {
		return nil, err
	}
	recs, err := p.deps.Admin.MyLogins(as(r, s), r.PathValue("name"), n)
	if err != nil {
		return nil, err
	}
	return map[string][]store.AuditRecord{"logins": apiList(recs)}, nil
}

func (p *pages) apiReportLogin(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	if err := readJSON(w, r, &struct{}{}, true); err != nil {
		return nil, err
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		return nil, apiInvalid("a login is named by its seq, a whole number")
	}
	return nil, p.deps.Admin.ReportLogin(as(r, s), r.PathValue("name"), seq)
}

type apiUsersResponse struct {
	Users []admin.SearchResult `json:"users"`
	// Warning says the directory could not be searched: the list holds
	// the server's own users only.
	Warning string `json:"warning,omitempty"`
}

func (p *pages) apiSearchUsers(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	q, err := apiQuery(r, "q")
	if err != nil {
		return nil, err
	}
	us, err := p.deps.Admin.SearchUsers(as(r, s), q.Get("q"))
	if err != nil && !errors.Is(err, admin.ErrDirectorySearch) {
		return nil, err
	}
	resp := apiUsersResponse{Users: apiList(us)}
	if err != nil {
		p.log.Warn("enrollment: api: directory search", slog.Any("err", err))
		resp.Warning = "the directory could not be searched: these are the server's own users only"
	}
	return resp, nil
}

func (p *pages) apiUserDetail(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	return p.deps.Admin.UserDetail(as(r, s), r.PathValue("name"))
}

func (p *pages) apiUnlock(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	if err := readJSON(w, r, &struct{}{}, true); err != nil {
		return nil, err
	}
	return nil, p.deps.Admin.UnlockUser(as(r, s), r.PathValue("name"))
}

func (p *pages) apiResetEnrollment(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	if err := readJSON(w, r, &struct{}{}, true); err != nil {
		return nil, err
	}
	n, err := p.deps.Admin.ResetEnrollment(as(r, s), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return map[string]int{"removed": n}, nil
}

func (p *pages) apiBypass(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var b struct {
		Uses int    `json:"uses"`
		TTL  string `json:"ttl"` // a Go duration: "1h", "30m"
	}
	if err := readJSON(w, r, &b, true); err != nil {
		return nil, err
	}
	var ttl time.Duration
	if b.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(b.TTL); err != nil {
			return nil, apiInvalid("ttl must be a duration such as \"1h\" or \"30m\"")
		}
	}
	return p.deps.Admin.IssueBypass(as(r, s), admin.BypassRequest{User: r.PathValue("name"), Uses: b.Uses, TTL: ttl})
}

func (p *pages) apiAudit(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	q, err := apiQuery(r, "user", "kind", "outcome", "client", "since", "until", "limit")
	if err != nil {
		return nil, err
	}
	aq := admin.AuditQuery{User: q.Get("user"), Kind: q.Get("kind"), Outcome: q.Get("outcome"), Client: q.Get("client")}
	if aq.Since, err = apiTime(q, "since"); err != nil {
		return nil, err
	}
	if aq.Until, err = apiTime(q, "until"); err != nil {
		return nil, err
	}
	if aq.Limit, err = apiInt(q, "limit", 0, 1, 10000); err != nil {
		return nil, err
	}
	recs, err := p.deps.Admin.QueryAudit(as(r, s), aq)
	if err != nil {
		return nil, err
	}
	return map[string][]store.AuditRecord{"records": apiList(recs)}, nil
}

func (p *pages) apiClients(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	cs, err := p.deps.Admin.Clients(as(r, s))
	if err != nil {
		return nil, err
	}
	return map[string][]admin.ClientInfo{"clients": apiList(cs)}, nil
}

func (p *pages) apiSettings(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	return p.deps.Admin.Settings(as(r, s))
}

func (p *pages) apiSetEnforcement(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var e store.Enforcement
	if err := readJSON(w, r, &e, false); err != nil {
		return nil, err
	}
	ctx := as(r, s)
	if err := p.deps.Admin.SetEnforcement(ctx, e); err != nil {
		return nil, err
	}
	return p.deps.Admin.Settings(ctx)
}
