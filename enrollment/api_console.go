package enrollment

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"radiusmfa/admin"
	"radiusmfa/store"
)

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
	aq, err := auditQuery(q, false)
	if err != nil {
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
