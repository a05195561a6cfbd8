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
	"net/url"
	"slices"
	"strconv"
	"strings"

	"radiusmfa/admin"
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
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, apiInvalid("%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// apiList makes a nil list encode as [] rather than null.
func apiList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
