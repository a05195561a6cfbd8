// Package audit writes decision records to the store off the request path:
// Record never blocks a RADIUS handler; a background loop appends records in
// batches. When the queue is full a record is dropped and counted, never
// allowed to stall authentication.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/store"
)

// Appender is the part of the store the writer needs.
type Appender interface {
	AppendAudit(ctx context.Context, recs ...store.AuditRecord) error
}

const (
	queueSize = 8192
	batchSize = 512
	flushWait = 50 * time.Millisecond
)

// Writer batches audit records into the store.
type Writer struct {
	st      Appender
	log     *slog.Logger
	ch      chan store.AuditRecord
	dropped prometheus.Counter
	failed  prometheus.Counter
	once    sync.Once
	done    chan struct{}
}

// NewWriter starts the background loop. reg may be nil.
func NewWriter(st Appender, log *slog.Logger, reg prometheus.Registerer) *Writer {
	w := &Writer{
		st: st, log: log, ch: make(chan store.AuditRecord, queueSize), done: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "radiusmfa_audit_dropped_total", Help: "Audit records dropped because the queue was full."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "radiusmfa_audit_write_errors_total", Help: "Audit batches the store failed to write."}),
	}
	if reg != nil {
		reg.MustRegister(w.dropped, w.failed)
	}
	go w.loop()
	return w
}

// Record queues rec; it never blocks.
func (w *Writer) Record(rec store.AuditRecord) {
	select {
	case w.ch <- rec:
	default:
		w.dropped.Inc()
	}
}

// Close flushes what is queued and stops the loop. Record must not be
// called after Close.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.ch) })
	<-w.done
}

func (w *Writer) loop() {
	defer close(w.done)
	batch := make([]store.AuditRecord, 0, batchSize)
	timer := time.NewTimer(flushWait)
	defer timer.Stop()
	for {
		select {
		case rec, ok := <-w.ch:
			if !ok {
				w.flush(batch)
				return
			}
			batch = append(batch, rec)
			if len(batch) < batchSize {
				continue
			}
		case <-timer.C:
		}
		batch = w.flush(batch)
		timer.Reset(flushWait)
	}
}

func (w *Writer) flush(batch []store.AuditRecord) []store.AuditRecord {
	if len(batch) == 0 {
		return batch
	}
	if err := w.st.AppendAudit(context.Background(), batch...); err != nil {
		w.failed.Inc()
		w.log.Error("audit write failed", "records", len(batch), "err", err)
	}
	return batch[:0]
}
