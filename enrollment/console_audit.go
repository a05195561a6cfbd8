package enrollment

import (
	"cmp"
	"encoding/csv"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"radiusmfa/admin"
	"radiusmfa/store"
)

// consoleAuditRow is one audit record as the console shows it.
type consoleAuditRow struct {
	Time, Kind, User, Client, Outcome, Reason, Factor, Detail, Source string
	UserLink                                                          string
}

func consoleAuditRows(recs []store.AuditRecord) []consoleAuditRow {
	out := make([]consoleAuditRow, 0, len(recs))
	for _, r := range recs {
		row := consoleAuditRow{Time: consoleTime(r.Time, consoleSecond, ""), Kind: r.Kind, User: r.User, Client: r.Client,
			Outcome: r.Outcome, Reason: r.Reason, Factor: r.Factor, Detail: r.Detail,
			Source: cmp.Or(r.CallingStationID, r.NASIPAddress, r.NASIdentifier)}
		if r.User != "" {
			row.UserLink = consoleUserPath(r.User)
		}
		out = append(out, row)
	}
	return out
}

// consoleAuditFilter is the audit page's filter form as typed.
type consoleAuditFilter struct{ User, Kind, Outcome, Client, Since, Until, Limit string }

func consoleAuditFilterOf(q url.Values) consoleAuditFilter {
	return consoleAuditFilter{q.Get("user"), q.Get("kind"), q.Get("outcome"), q.Get("client"), q.Get("since"), q.Get("until"), q.Get("limit")}
}

// auditQuery reads the audit filters of the console's form and of the API:
// user, kind, outcome, client, since, until and limit (1–10000), or says
// what to fix. Since and until are RFC 3339 times or dates (UTC); a date as
// until is its midnight, excluded, unless untilDayIncluded: the console's
// "until 2026-11-22" means through that day, the API's (docs/api.md) up to it.
func auditQuery(q url.Values, untilDayIncluded bool) (admin.AuditQuery, error) {
	get := func(name string) string { return strings.TrimSpace(q.Get(name)) }
	aq := admin.AuditQuery{User: get("user"), Kind: get("kind"), Outcome: get("outcome"), Client: get("client")}
	var err error
	if aq.Since, err = auditTime("since", get("since"), false); err != nil {
		return aq, err
	}
	if aq.Until, err = auditTime("until", get("until"), untilDayIncluded); err != nil {
		return aq, err
	}
	if !aq.Since.IsZero() && !aq.Until.IsZero() && !aq.Since.Before(aq.Until) {
		return aq, apiInvalid("since must be before until")
	}
	aq.Limit, err = apiInt(q, "limit", 0, 1, 10000)
	return aq, err
}

// auditTime reads an RFC 3339 time or a date: its midnight UTC, or with
// dayIncluded the next one, so that the day is in a range it ends. "" is no
// bound.
func auditTime(name, v string, dayIncluded bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, time.UTC); err == nil {
		if dayIncluded {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, apiInvalid("%s must be an RFC 3339 time (2026-11-23T10:00:00Z) or a date (2026-11-23)", name)
}

// encode is the filter as a query string, for the CSV link.
func (f consoleAuditFilter) encode() string {
	v := url.Values{}
	for k, s := range map[string]string{"user": f.User, "kind": f.Kind, "outcome": f.Outcome, "client": f.Client,
		"since": f.Since, "until": f.Until, "limit": f.Limit} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

func (p *pages) consoleAudit(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	f := consoleAuditFilterOf(r.URL.Query())
	view := struct {
		Nav          navView
		Filter       consoleAuditFilter
		Rows         []consoleAuditRow
		CSV, Message string
	}{Nav: nav(s, "audit"), Filter: f, CSV: "/console/audit.csv"}
	if enc := f.encode(); enc != "" {
		view.CSV += "?" + enc
	}
	q, err := auditQuery(r.URL.Query(), true)
	if err != nil {
		view.Message = err.Error()
		p.render(w, http.StatusBadRequest, "console_audit.html", view)
		return
	}
	recs, err := p.deps.Admin.QueryAudit(as(r, s), q)
	if errors.Is(err, admin.ErrInvalid) {
		view.Message = errMessage(err)
		p.render(w, http.StatusBadRequest, "console_audit.html", view)
		return
	}
	if err != nil {
		p.serviceError(w, r, "audit", err)
		return
	}
	view.Rows = consoleAuditRows(recs)
	p.render(w, http.StatusOK, "console_audit.html", view)
}

var consoleAuditCSVHeader = []string{"seq", "time", "kind", "user", "client", "outcome", "reason", "factor", "detail",
	"calling_station_id", "nas_ip_address", "nas_identifier", "duration_ms"}

// consoleAuditCSV is the audit page's records as a CSV download.
func (p *pages) consoleAuditCSV(w http.ResponseWriter, r *http.Request) {
	s, ok := p.staff(w, r, false)
	if !ok {
		return
	}
	q, err := auditQuery(r.URL.Query(), true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recs, err := p.deps.Admin.QueryAudit(as(r, s), q)
	if err != nil {
		p.serviceError(w, r, "audit export", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="radiusmfa-audit.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(consoleAuditCSVHeader)
	for _, a := range recs {
		_ = cw.Write(csvSafeCells(strconv.FormatUint(a.Seq, 10), a.Time.UTC().Format(time.RFC3339Nano), a.Kind, a.User,
			a.Client, a.Outcome, a.Reason, a.Factor, a.Detail, a.CallingStationID, a.NASIPAddress, a.NASIdentifier,
			strconv.FormatInt(a.Duration.Milliseconds(), 10)))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		p.log.Debug("enrollment: writing the audit export", slog.Any("err", err))
	}
}

// csvSafeCells neutralises spreadsheet formulas: a cell a spreadsheet would
// evaluate (= + - @, or a leading tab or carriage return) gets a leading
// apostrophe, so a user name chosen by an attacker stays text.
func csvSafeCells(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}
