package notify

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of event.
const (
	// PushReported: the user denied a push and reported it as a login they
	// did not start; push is suspended for them.
	PushReported = "push_reported"
	// PushSuspended: a run of denied or unanswered pushes suspended push
	// approval for the user.
	PushSuspended = "push_suspended"
	// LoginReported: the user pressed "This wasn't me" on one of their
	// logins on the site.
	LoginReported = "login_reported"
)

// Kinds lists every kind of event, the default of Options.Events.
var Kinds = []string{PushReported, PushSuspended, LoginReported}

// Event is what admins are told: who, where and what, never a secret. Its
// JSON form is the webhook's body.
type Event struct {
	Kind             string    `json:"event"`
	Time             time.Time `json:"time"`
	User             string    `json:"user"`
	Client           string    `json:"client"` // the RADIUS client's name
	NASIdentifier    string    `json:"nas_identifier"`
	CallingStationID string    `json:"calling_station_id"`
	Detail           string    `json:"detail"`
	Server           string    `json:"server"` // the host name of the server that saw it
}

// Channel delivers one event to the admins. Send returns a [Permanent]
// error when trying again cannot help.
type Channel interface {
	Name() string // "webhook", "email": the metrics' channel label
	Send(ctx context.Context, ev Event) error
}

// Options configure a Notifier. Zero fields take the defaults.
type Options struct {
	// Events lists the kinds delivered; nil means all of Kinds.
	Events []string
	// Server fills Event.Server when empty; default os.Hostname.
	Server string
	// QueueSize is each channel's queue capacity (default 64).
	QueueSize int
	// Attempts is how many times one delivery is tried (default 3);
	// Backoff is the wait before the first retry, doubled before each
	// next one (default 2s); Timeout bounds each attempt (default 10s).
	Attempts int
	Backoff  time.Duration
	Timeout  time.Duration
}

func (o *Options) defaults() {
	if o.Events == nil {
		o.Events = Kinds
	}
	if o.Server == "" {
		o.Server, _ = os.Hostname()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
}

// Notifier delivers events to its channels in the background.
type Notifier struct {
	o      Options
	log    *slog.Logger
	events map[string]bool
	sinks  []*sink

	// closeMu orders Notify against Close: an event is queued under its
	// read lock only while closed is false, and Close sets closed under
	// its write lock before the workers drain, so none is queued after.
	closeMu   sync.RWMutex
	closed    bool
	closing   chan struct{} // closed by Close: workers drain and stop
	closeOnce sync.Once
	ctx       context.Context // cancelled when Close gives up waiting
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// sink is one channel with its queues and counters. Events a user can
// cause at will (LoginReported) wait in their own queue, which the worker
// serves only when the push events' queue is empty: a flood of reports
// cannot crowd out, or delay, an alert about a push.
type sink struct {
	ch                    Channel
	queue                 chan Event // push events
	reports               chan Event // LoginReported
	sent, failed, dropped prometheus.Counter
}

// queueFor returns the queue ev waits in.
func (s *sink) queueFor(ev Event) chan Event {
	if ev.Kind == LoginReported {
		return s.reports
	}
	return s.queue
}

// New starts one worker per channel. reg may be nil. With no channel,
// Notify does nothing.
func New(log *slog.Logger, reg prometheus.Registerer, o Options, channels ...Channel) *Notifier {
	o.defaults()
	n := &Notifier{o: o, log: log, events: make(map[string]bool), closing: make(chan struct{})}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for _, k := range o.Events {
		n.events[k] = true
	}
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "radiusmfa_notify_sent_total",
		Help: "Admin notifications delivered, by channel."}, []string{"channel"})
	failed := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "radiusmfa_notify_failed_total",
		Help: "Admin notifications given up after every attempt failed, by channel."}, []string{"channel"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "radiusmfa_notify_dropped_total",
		Help: "Admin notifications dropped because the channel's queue was full, by channel."}, []string{"channel"})
	if reg != nil {
		reg.MustRegister(sent, failed, dropped)
	}
	for _, ch := range channels {
		name := ch.Name()
		s := &sink{ch: ch, queue: make(chan Event, o.QueueSize), reports: make(chan Event, o.QueueSize), sent: sent.WithLabelValues(name),
			failed: failed.WithLabelValues(name), dropped: dropped.WithLabelValues(name)}
		n.sinks = append(n.sinks, s)
		n.wg.Add(1)
		go n.work(s)
	}
	return n
}

// Invariant: Notify never blocks its caller, a RADIUS handler among them:
// each channel's queue is bounded, and an event that does not fit is
// dropped and counted. (TestQueueFullDrops, TestCloseGivesUp)

// Notify queues ev for every channel if its kind is one to deliver. It
// never blocks: a channel whose queue is full drops ev, counted and logged.
// A nil Notifier, or one closed, does nothing.
func (n *Notifier) Notify(ev Event) {
	if n == nil || !n.events[ev.Kind] {
		return
	}
	n.closeMu.RLock()
	defer n.closeMu.RUnlock()
	if n.closed {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC()
	if ev.Server == "" {
		ev.Server = n.o.Server
	}
	for _, s := range n.sinks {
		select {
		case s.queueFor(ev) <- ev:
		default:
			s.dropped.Inc()
			n.log.Warn("admin notification dropped: its queue is full", "channel", s.ch.Name(),
				"event", ev.Kind, "user", ev.User)
		}
	}
}

// Close delivers what is queued and stops the workers. When ctx ends
// first, deliveries under way are cancelled and what is left is dropped;
// Close then returns ctx's error. Notify does nothing after Close.
func (n *Notifier) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.closeOnce.Do(func() {
		n.closeMu.Lock()
		n.closed = true
		n.closeMu.Unlock()
		close(n.closing)
	})
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return ctx.Err()
	}
}

func (n *Notifier) work(s *sink) {
	defer n.wg.Done()
	for {
		select { // push events first, whenever one is waiting
		case ev := <-s.queue:
			n.deliver(s, ev)
			continue
		default:
		}
		select {
		case ev := <-s.queue:
			n.deliver(s, ev)
		case ev := <-s.reports:
			n.deliver(s, ev)
		case <-n.closing:
			for _, q := range []chan Event{s.queue, s.reports} {
				for drained := false; !drained; {
					select {
					case ev := <-q:
						if n.ctx.Err() == nil {
							n.deliver(s, ev)
						}
					default:
						drained = true
					}
				}
			}
			return
		}
	}
}

// deliver tries ev on s's channel up to Attempts times, waiting Backoff,
// then twice that, between tries; a permanent error ends it at once.
func (n *Notifier) deliver(s *sink, ev Event) {
	wait := n.o.Backoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(n.ctx, n.o.Timeout)
		err := s.ch.Send(ctx, ev)
		cancel()
		if err == nil {
			s.sent.Inc()
			n.log.Info("admins notified", "channel", s.ch.Name(), "event", ev.Kind, "user", ev.User)
			return
		}
		if IsPermanent(err) || attempt >= n.o.Attempts || !n.sleep(wait) {
			s.failed.Inc()
			n.log.Error("admin notification failed", "channel", s.ch.Name(), "event", ev.Kind, "user", ev.User,
				"attempts", attempt, "err", err)
			return
		}
		wait *= 2
	}
}

// sleep waits d, or less if Close gives up; it reports whether to go on.
func (n *Notifier) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// permanentError marks a failure that trying again cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by
// [Permanent].
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
