package storetest

import (
	"fmt"
	"testing"
	"time"

	"radiusmfa/store"
)

func recent(t *testing.T, s store.Store, n int) []store.AuditRecord {
	t.Helper()
	recs, err := s.RecentAudit(t.Context(), n)
	wantErr(t, fmt.Sprintf("RecentAudit(%d)", n), err, nil)
	return recs
}

func auditRecord(i int) store.AuditRecord {
	return store.AuditRecord{
		Time: time.Now().Add(time.Duration(i) * time.Millisecond), Kind: "auth",
		User: fmt.Sprint("user", i), Client: "vpn", NASIdentifier: "nas1",
		NASIPAddress: "192.0.2.1", CallingStationID: "198.51.100.7", Factor: "totp",
		Outcome: "accept", Reason: "ok", Detail: "d", Duration: time.Duration(i) * time.Millisecond,
	}
}

func testAuditAppendAndRecent(t *testing.T, s store.Store) {
	ctx := t.Context()
	if recs := recent(t, s, 10); len(recs) != 0 {
		t.Fatalf("empty store has %d audit records", len(recs))
	}
	var want []store.AuditRecord
	for i := range 5 {
		want = append(want, auditRecord(i))
	}
	wantErr(t, "AppendAudit batch", s.AppendAudit(ctx, want[:3]...), nil)
	wantErr(t, "AppendAudit 3", s.AppendAudit(ctx, want[3]), nil)
	wantErr(t, "AppendAudit 4", s.AppendAudit(ctx, want[4]), nil)
	wantErr(t, "AppendAudit none", s.AppendAudit(ctx), nil)

	got := recent(t, s, 10)
	if len(got) != len(want) {
		t.Fatalf("RecentAudit(10) returned %d records, want %d", len(got), len(want))
	}
	for i, rec := range got {
		if rec.Seq == 0 || (i > 0 && rec.Seq <= got[i-1].Seq) {
			t.Errorf("record %d: seq %d does not increase", i, rec.Seq)
		}
		rec.Seq = 0
		if !rec.Time.Equal(want[i].Time) {
			t.Errorf("record %d: time %v, want %v", i, rec.Time, want[i].Time)
		}
		rec.Time = want[i].Time
		if rec != want[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, rec, want[i])
		}
	}
	if last2 := recent(t, s, 2); len(last2) != 2 || last2[0].User != "user3" || last2[1].User != "user4" {
		t.Errorf("RecentAudit(2) = %+v, want user3 then user4", last2)
	}
	if none := recent(t, s, 0); len(none) != 0 {
		t.Errorf("RecentAudit(0) returned %d records", len(none))
	}
}

func testAuditStampsTime(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	rec := auditRecord(0)
	rec.Time = time.Time{}
	wantErr(t, "AppendAudit", s.AppendAudit(t.Context(), rec), nil)
	after := time.Now().Add(time.Second)
	got := recent(t, s, 1)
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(after) {
		t.Errorf("zero Time stamped as %+v, want between %v and %v", got, before, after)
	}
}

func testAuditPrunesByCount(t *testing.T, s store.Store) {
	const total = AuditMaxRecords + 7
	for i := range total {
		wantErr(t, "AppendAudit", s.AppendAudit(t.Context(), auditRecord(i)), nil)
	}
	got := recent(t, s, 10*total)
	if len(got) != AuditMaxRecords {
		t.Fatalf("kept %d audit records, want the limit %d", len(got), AuditMaxRecords)
	}
	if first, last := got[0].User, got[len(got)-1].User; first != fmt.Sprint("user", total-AuditMaxRecords) ||
		last != fmt.Sprint("user", total-1) {
		t.Errorf("kept %s..%s, want the newest", first, last)
	}
}

func testAuditPrunesByAge(t *testing.T, s store.Store) {
	old := auditRecord(0)
	old.Time = time.Now().Add(-2 * AuditMaxAge)
	old.User = "old"
	fresh := auditRecord(1)
	fresh.User = "fresh"
	wantErr(t, "AppendAudit", s.AppendAudit(t.Context(), old), nil)
	wantErr(t, "AppendAudit", s.AppendAudit(t.Context(), fresh), nil)
	got := recent(t, s, 10)
	if len(got) != 1 || got[0].User != "fresh" {
		t.Errorf("after age pruning: %d records, want only the fresh one", len(got))
	}
}
