package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeChannel records events; Send returns errs in order, then nil. With
// gate set, Send first reports on entered and waits for gate (or ctx).
type fakeChannel struct {
	name    string
	gate    chan struct{}
	entered chan struct{}

	mu    sync.Mutex
	errs  []error
	got   []Event
	calls int
}

func (f *fakeChannel) Name() string { return f.name }

func (f *fakeChannel) Send(ctx context.Context, ev Event) error {
	if f.gate != nil {
		f.entered <- struct{}{}
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return err
	}
	f.got = append(f.got, ev)
	return nil
}

func (f *fakeChannel) result() (calls int, got []Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]Event(nil), f.got...)
}

// testLog captures what the notifier logs.
func testLog() (*slog.Logger, *syncWriter) {
	w := &syncWriter{w: new(bytes.Buffer)}
	return slog.New(slog.NewTextHandler(w, nil)), w
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func fastOptions() Options {
	return Options{Server: "mfa1", Backoff: time.Millisecond, Timeout: 5 * time.Second}
}

func closeNow(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func counter(t *testing.T, n *Notifier, channel, which string) float64 {
	t.Helper()
	for _, s := range n.sinks {
		if s.ch.Name() == channel {
			return testutil.ToFloat64(map[string]prometheus.Counter{"sent": s.sent, "failed": s.failed, "dropped": s.dropped}[which])
		}
	}
	t.Fatalf("no channel %q", channel)
	return 0
}

func TestNotifyDeliversToEveryChannel(t *testing.T) {
	a, b := &fakeChannel{name: "a"}, &fakeChannel{name: "b"}
	log, _ := testLog()
	reg := prometheus.NewRegistry()
	n := New(log, reg, fastOptions(), a, b)
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	n.Notify(Event{Kind: PushReported, Time: when, User: "alice", Client: "vpn"})
	closeNow(t, n)
	for _, ch := range []*fakeChannel{a, b} {
		_, got := ch.result()
		if len(got) != 1 {
			t.Fatalf("channel %s got %d events, want 1", ch.name, len(got))
		}
		ev := got[0]
		if ev.User != "alice" || ev.Kind != PushReported || ev.Server != "mfa1" || !ev.Time.Equal(when) || ev.Time.Location() != time.UTC {
			t.Errorf("channel %s got %+v", ch.name, ev)
		}
		if s := counter(t, n, ch.name, "sent"); s != 1 {
			t.Errorf("sent{%s} = %v, want 1", ch.name, s)
		}
	}
	if got, err := testutil.GatherAndCount(reg, "radiusmfa_notify_sent_total"); err != nil || got != 2 {
		t.Errorf("radiusmfa_notify_sent_total has %d series (%v), want one per channel", got, err)
	}
}

func TestNotifyOnlyChosenEvents(t *testing.T) {
	ch := &fakeChannel{name: "a"}
	log, _ := testLog()
	o := fastOptions()
	o.Events = []string{LoginReported}
	n := New(log, nil, o, ch)
	n.Notify(Event{Kind: PushReported, User: "alice"})
	n.Notify(Event{Kind: PushSuspended, User: "alice"})
	n.Notify(Event{Kind: LoginReported, User: "bob"})
	closeNow(t, n)
	if _, got := ch.result(); len(got) != 1 || got[0].User != "bob" || got[0].Time.IsZero() {
		t.Errorf("got %+v, want bob's login_reported only, with a time", got)
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	ch := &fakeChannel{name: "a", errs: []error{errors.New("503"), errors.New("reset")}}
	log, _ := testLog()
	n := New(log, nil, fastOptions(), ch)
	n.Notify(Event{Kind: PushSuspended, User: "alice"})
	closeNow(t, n)
	if calls, got := ch.result(); calls != 3 || len(got) != 1 {
		t.Errorf("%d calls, %d delivered; want 3 calls and the event delivered", calls, len(got))
	}
	if s, f := counter(t, n, "a", "sent"), counter(t, n, "a", "failed"); s != 1 || f != 0 {
		t.Errorf("sent %v failed %v, want 1 and 0", s, f)
	}
}

func TestGivesUpAfterAttempts(t *testing.T) {
	fail := errors.New("down")
	ch := &fakeChannel{name: "a", errs: []error{fail, fail, fail, fail}}
	log, buf := testLog()
	n := New(log, nil, fastOptions(), ch)
	n.Notify(Event{Kind: PushSuspended, User: "alice"})
	closeNow(t, n)
	if calls, _ := ch.result(); calls != 3 {
		t.Errorf("%d calls, want 3 attempts", calls)
	}
	if f := counter(t, n, "a", "failed"); f != 1 {
		t.Errorf("failed = %v, want 1", f)
	}
	if !strings.Contains(buf.String(), "admin notification failed") || !strings.Contains(buf.String(), "attempts=3") {
		t.Errorf("log:\n%s", buf)
	}
}

func TestPermanentErrorNotRetried(t *testing.T) {
	ch := &fakeChannel{name: "a", errs: []error{Permanent(errors.New("400 Bad Request"))}}
	log, _ := testLog()
	n := New(log, nil, fastOptions(), ch)
	n.Notify(Event{Kind: PushSuspended, User: "alice"})
	closeNow(t, n)
	if calls, _ := ch.result(); calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
	if f := counter(t, n, "a", "failed"); f != 1 {
		t.Errorf("failed = %v, want 1", f)
	}
	if Permanent(nil) != nil || IsPermanent(errors.New("x")) || !IsPermanent(errors.Join(errors.New("x"), Permanent(errors.New("y")))) {
		t.Error("Permanent/IsPermanent")
	}
}

// TestQueueFullDrops: while the channel hangs, Notify still returns at
// once; events beyond the queue's capacity are dropped, counted and logged,
// and those queued are delivered once it answers again.
func TestQueueFullDrops(t *testing.T) {
	ch := &fakeChannel{name: "a", gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	other := &fakeChannel{name: "b"}
	log, buf := testLog()
	o := fastOptions()
	o.QueueSize = 2
	n := New(log, nil, o, ch, other)
	n.Notify(Event{Kind: PushReported, User: "u0"})
	<-ch.entered // the worker holds u0
	start := time.Now()
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		n.Notify(Event{Kind: PushReported, User: u})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Notify blocked for %s on a full queue", d)
	}
	if d := counter(t, n, "a", "dropped"); d != 2 {
		t.Errorf("dropped{a} = %v, want 2", d)
	}
	if !strings.Contains(buf.String(), "admin notification dropped") {
		t.Errorf("no warning logged:\n%s", buf)
	}
	// The hung channel does not hold the other one back.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, got := other.result(); len(got) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("channel b delivered nothing while channel a hung")
		}
	}
	close(ch.gate)
	closeNow(t, n)
	var users []string
	_, got := ch.result()
	for _, ev := range got {
		users = append(users, ev.User)
	}
	if strings.Join(users, " ") != "u0 u1 u2" {
		t.Errorf("channel a delivered %v, want u0 u1 u2", users)
	}
	if _, got := other.result(); len(got)+int(counter(t, n, "b", "dropped")) != 5 {
		t.Errorf("channel b delivered %d and dropped %v of 5", len(got), counter(t, n, "b", "dropped"))
	}
}

// TestCloseGivesUp: a channel that hangs does not hold shutdown past
// Close's context; its delivery is cancelled.
func TestCloseGivesUp(t *testing.T) {
	ch := &fakeChannel{name: "a", gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	log, _ := testLog()
	n := New(log, nil, fastOptions(), ch)
	n.Notify(Event{Kind: PushReported, User: "u0"})
	n.Notify(Event{Kind: PushReported, User: "u1"})
	<-ch.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s", d)
	}
	n.Notify(Event{Kind: PushReported, User: "late"}) // no panic, nothing queued
	if calls, _ := ch.result(); calls != 0 {
		t.Errorf("%d deliveries finished, want none", calls)
	}
}

func TestNilNotifier(t *testing.T) {
	var n *Notifier
	n.Notify(Event{Kind: PushReported})
	if err := n.Close(context.Background()); err != nil {
		t.Error(err)
	}
	log, _ := testLog()
	empty := New(log, prometheus.NewRegistry(), Options{})
	empty.Notify(Event{Kind: PushReported})
	closeNow(t, empty)
}

func TestText(t *testing.T) {
	ev := Event{Kind: LoginReported, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), User: "eve\r\nBcc: x@example.com",
		Client: "vpn", CallingStationID: "203.0.113.9", Detail: "this wasn't me: login 7", Server: "mfa1"}
	if s := ev.Summary(); strings.ContainsAny(s, "\r\n") {
		t.Errorf("Summary keeps a line break: %q", s)
	}
	text := ev.Text()
	for _, want := range []string{"reports a login that was not theirs", "Time:               2026-01-02T03:04:05Z",
		"Calling-Station-Id: 203.0.113.9", "Detail:             this wasn't me: login 7", "Server:             mfa1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\nBcc:") || strings.Contains(text, "NAS-Identifier") {
		t.Errorf("text:\n%s", text)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc dddd e", 7)
	if got != "aaa bbb\nccc\ndddd e" {
		t.Errorf("wrap = %q", got)
	}
	for _, kind := range Kinds {
		for _, line := range strings.Split(Event{Kind: kind, User: "u"}.Text(), "\n") {
			if len(line) > 76 {
				t.Errorf("%s: line of %d bytes: %q", kind, len(line), line)
			}
		}
	}
}

// A flood of "this wasn't me" reports, which any signed-in user can send,
// neither crowds out nor delays an alert about a push: reports wait in
// their own queue, served only when no push event waits.
func TestReportsCannotCrowdOutPushAlerts(t *testing.T) {
	ch := &fakeChannel{name: "a", gate: make(chan struct{}), entered: make(chan struct{}, 1000)}
	log, _ := testLog()
	o := fastOptions()
	o.QueueSize = 4
	n := New(log, nil, o, ch)
	n.Notify(Event{Kind: LoginReported, User: "first"})
	<-ch.entered // the worker holds the first report
	for range 50 {
		n.Notify(Event{Kind: LoginReported, User: "flood"})
	}
	n.Notify(Event{Kind: PushReported, User: "victim"})
	if d := counter(t, n, "a", "dropped"); d != 46 {
		t.Errorf("dropped = %v, want the 46 reports past the queue", d)
	}
	close(ch.gate)
	closeNow(t, n)
	_, got := ch.result()
	var users []string
	for _, ev := range got {
		users = append(users, ev.User)
	}
	if strings.Join(users, " ") != "first victim flood flood flood flood" {
		t.Errorf("delivered %v, want the push alert right after the report under way", users)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"alice":             "alice",
		"alice@example.com": "alice@example.com",
		"$(rm -rf ~)":       `'$(rm -rf ~)'`,
		"o'brien":           `'o'\''brien'`,
		"`id`":              "'`id`'",
		"":                  "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
