package audit

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"radiusmfa/store"
)

type sink struct {
	mu   sync.Mutex
	recs []store.AuditRecord
	gate chan struct{}
}

func (s *sink) AppendAudit(_ context.Context, recs ...store.AuditRecord) error {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, recs...)
	return nil
}

func TestWriterFlushesEverythingOnClose(t *testing.T) {
	s := &sink{}
	w := NewWriter(s, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	for i := 0; i < 2000; i++ {
		w.Record(store.AuditRecord{Kind: "auth", User: "u"})
	}
	w.Close()
	if len(s.recs) != 2000 {
		t.Fatalf("stored %d of 2000 records", len(s.recs))
	}
}

func TestWriterDropsWhenFullInsteadOfBlocking(t *testing.T) {
	s := &sink{gate: make(chan struct{})}
	w := NewWriter(s, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	for i := 0; i < queueSize+batchSize+100; i++ {
		w.Record(store.AuditRecord{Kind: "auth"})
	}
	if got := testutil.ToFloat64(w.dropped); got < 100 {
		t.Fatalf("dropped %v records, want at least 100", got)
	}
	close(s.gate)
	w.Close()
}
