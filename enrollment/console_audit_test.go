package enrollment

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"radiusmfa/admin"
	"radiusmfa/store"
)

// seedAudit stores records a console search should find, with cells a
// spreadsheet would read as formulas.
func seedAudit(fx *consoleSite) {
	fx.t.Helper()
	now := fx.clock()
	for _, r := range []store.AuditRecord{
		{Time: now.Add(-48 * time.Hour), Kind: "auth", User: "mallory", Client: "vpn-gw", Outcome: "reject", Detail: "old"},
		{Time: now.Add(-time.Minute), Kind: "auth", User: "=HYPERLINK(\"http://x\")", Client: "+vpn", Outcome: "reject",
			Reason: "-bad", Detail: "@SUM(A1)", CallingStationID: "\t198.51.100.7", NASIdentifier: "\rnas"},
		{Time: now.Add(-time.Minute), Kind: "auth", User: "mallory", Client: "vpn-gw", Outcome: "accept", Factor: "totp", Detail: "today"},
	} {
		if err := fx.st.AppendAudit(context.Background(), r); err != nil {
			fx.t.Fatal(err)
		}
	}
}

func TestConsoleAuditFilters(t *testing.T) {
	fx := newConsoleSite(t)
	seedAudit(fx)
	w := fx.do("GET", "/console/audit?user=MALLORY&since=2026-11-23", nil, fx.helen)
	wantStatus(t, w, http.StatusOK, "audit")
	if body := w.Body.String(); !strings.Contains(body, "today") || strings.Contains(body, ">old<") {
		t.Errorf("filtered page: %s", body)
	}
	if !strings.Contains(w.Body.String(), `href="/console/audit.csv?since=2026-11-23&amp;user=MALLORY"`) {
		t.Error("the CSV link does not carry the filters")
	}
	w = fx.do("GET", "/console/audit?user=mallory&until=2026-11-22", nil, fx.helen)
	if body := w.Body.String(); !strings.Contains(body, ">old<") || strings.Contains(body, "today") {
		t.Errorf("until a day: %s", body)
	}
	for _, q := range []string{"since=yesterday", "until=2026-13-01", "limit=0", "limit=10001", "limit=x",
		"since=2026-11-23&until=2026-11-01"} {
		for _, path := range []string{"/console/audit?", "/console/audit.csv?"} {
			w := fx.do("GET", path+q, nil, fx.helen)
			wantStatus(t, w, http.StatusBadRequest, path+q)
			if !strings.Contains(w.Body.String(), "must") {
				t.Errorf("%s%s: no clear message: %s", path, q, w.Body)
			}
		}
	}
}

func TestConsoleAuditCSV(t *testing.T) {
	fx := newConsoleSite(t)
	seedAudit(fx)
	w := fx.do("GET", "/console/audit.csv?kind=auth&outcome=reject&since=2026-11-23T00:00:00Z", nil, fx.helen)
	wantStatus(t, w, http.StatusOK, "CSV")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="radiusmfa-audit.csv"` {
		t.Errorf("content disposition %q", cd)
	}
	rows, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0], consoleAuditCSVHeader) {
		t.Fatalf("rows %q", rows)
	}
	row := map[string]string{}
	for i, h := range rows[0] {
		row[h] = rows[1][i]
	}
	for col, want := range map[string]string{"user": `'=HYPERLINK("http://x")`, "client": "'+vpn", "reason": "'-bad",
		"detail": "'@SUM(A1)", "calling_station_id": "'\t198.51.100.7", "nas_identifier": "'\rnas", "kind": "auth", "outcome": "reject"} {
		if row[col] != want {
			t.Errorf("%s = %q, want %q", col, row[col], want)
		}
	}
}

func TestCSVSafeCells(t *testing.T) {
	got := csvSafeCells("", "=1", "+1", "-1", "@a", "\tx", "\rx", "a=b", "1")
	want := []string{"", "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=b", "1"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The console and the API read their audit filters with one parser; they
// differ only in what a date as "until" means.
func TestAuditQuery(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		query       string
		dayIncluded bool
		want        admin.AuditQuery
	}{
		{"user=+alice+&kind=admin&outcome=ok&client=helen&limit=+5", false,
			admin.AuditQuery{User: "alice", Kind: "admin", Outcome: "ok", Client: "helen", Limit: 5}},
		{"since=2026-11-22T10:00:00Z", false, admin.AuditQuery{Since: day.Add(10 * time.Hour)}},
		{"since=2026-11-22", true, admin.AuditQuery{Since: day}},
		{"until=2026-11-22", false, admin.AuditQuery{Until: day}},
		{"until=2026-11-22", true, admin.AuditQuery{Until: day.AddDate(0, 0, 1)}},
		{"since=2026-11-22&until=2026-11-22", true, admin.AuditQuery{Since: day, Until: day.AddDate(0, 0, 1)}},
	} {
		q, _ := url.ParseQuery(c.query)
		got, err := auditQuery(q, c.dayIncluded)
		got.Since, got.Until = got.Since.UTC(), got.Until.UTC()
		if err != nil || got != c.want {
			t.Errorf("%s (day included %v): %+v, %v; want %+v", c.query, c.dayIncluded, got, err, c.want)
		}
	}
	for _, query := range []string{"since=yesterday", "until=2026-13-01", "until=2026-11-23T10:00", "limit=0",
		"limit=10001", "limit=x", "since=2026-11-23&until=2026-11-01", "since=2026-11-22T10:00:00Z&until=2026-11-22T10:00:00Z"} {
		q, _ := url.ParseQuery(query)
		for _, dayIncluded := range []bool{false, true} {
			_, err := auditQuery(q, dayIncluded)
			if ae, ok := errors.AsType[*apiError](err); !ok || ae.code != apiCodeInvalid || !strings.Contains(ae.msg, "must") {
				t.Errorf("%s (day included %v): %v, want an invalid-request error saying what must be", query, dayIncluded, err)
			}
		}
	}
	q, _ := url.ParseQuery("since=2026-11-22&until=2026-11-22")
	if _, err := auditQuery(q, false); err == nil {
		t.Error("an empty range up to the day's midnight is accepted")
	}
}
