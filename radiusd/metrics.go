package radiusd

import (
	"errors"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
)

// dropCause is why a datagram got no processing (dropped_packets_total).
type dropCause int

const (
	dropUnknownClient dropCause = iota
	dropMalformed
	dropUnexpectedCode
	dropBadAuthenticator
	dropBadMA
	dropMissingMA
	dropDuplicatePending
	dropDuplicateReplayed // answered from the reply cache, not processed
	dropOverloaded
	dropReplyCacheFull
	dropReplyError // the reply could not be encoded
	numDropCauses
)

var dropCauseNames = [numDropCauses]string{
	dropUnknownClient:     "unknown_client",
	dropMalformed:         "malformed",
	dropUnexpectedCode:    "unexpected_code",
	dropBadAuthenticator:  "bad_authenticator",
	dropBadMA:             "bad_message_authenticator",
	dropMissingMA:         "missing_message_authenticator",
	dropDuplicatePending:  "duplicate_pending",
	dropDuplicateReplayed: "duplicate_replayed",
	dropOverloaded:        "overloaded",
	dropReplyCacheFull:    "reply_cache_full",
	dropReplyError:        "reply_error",
}

func (c dropCause) String() string { return dropCauseNames[c] }

// requestType is the requests_total type label.
type requestType int

const (
	typeAccess requestType = iota
	typeAccounting
	typeStatus
	numRequestTypes
)

var requestTypeNames = [numRequestTypes]string{"access_request", "accounting_request", "status_server"}

// maxDecisionLabels bounds the (outcome, reason) pairs per client; beyond it
// reasons are counted as "other" so a misbehaving engine cannot blow up
// the label space.
const maxDecisionLabels = 64

// metrics holds the collectors. Every per-packet counter is resolved ahead
// of time, so the hot path does atomic adds and no label hashing.
type metrics struct {
	requests   *prometheus.CounterVec
	decisions  *prometheus.CounterVec
	dropped    [numDropCauses]prometheus.Counter
	duration   prometheus.Histogram
	collectors []prometheus.Collector
}

func newMetrics(inFlight, held, cacheEntries func() float64) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radiusmfa_requests_total",
			Help: "RADIUS requests accepted for processing, by client and type.",
		}, []string{"client", "type"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "radiusmfa_decisions_total",
			Help: "Authentication decisions, by client, outcome and reason.",
		}, []string{"client", "outcome", "reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "radiusmfa_request_duration_seconds",
			Help:    "Time from receiving an Access-Request to writing its reply.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "radiusmfa_dropped_packets_total",
		Help: "Datagrams not processed, by cause.",
	}, []string{"cause"})
	for c := range numDropCauses {
		m.dropped[c] = dropped.WithLabelValues(c.String())
	}
	m.collectors = []prometheus.Collector{m.requests, m.decisions, dropped, m.duration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "radiusmfa_in_flight",
			Help: "Requests being processed (Access-Requests waiting on a push are counted in radiusmfa_held instead).",
		}, inFlight),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "radiusmfa_held",
			Help: "Access-Requests waiting on the user's answer to a push.",
		}, held),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "radiusmfa_reply_cache_entries",
			Help: "Entries (pending and answered) in the RADIUS reply cache.",
		}, cacheEntries),
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	var errs []error
	for _, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// clientMetrics are the counters labelled with one configured client name.
type clientMetrics struct {
	requests [numRequestTypes]prometheus.Counter
	name     string
	vec      *prometheus.CounterVec
	// decisions is copy-on-write: lookups are a lock-free map read.
	decisions atomic.Pointer[map[decisionKey]prometheus.Counter]
	mu        sync.Mutex // serialises writers of decisions
}

type decisionKey struct {
	outcome auth.Outcome
	reason  auth.Reason
}

func (m *metrics) forClient(name string) *clientMetrics {
	cm := &clientMetrics{name: name, vec: m.decisions}
	for t := range numRequestTypes {
		cm.requests[t] = m.requests.WithLabelValues(name, requestTypeNames[t])
	}
	cm.decisions.Store(&map[decisionKey]prometheus.Counter{})
	return cm
}

// decision returns the counter of (o, r) for this client.
func (cm *clientMetrics) decision(o auth.Outcome, r auth.Reason) prometheus.Counter {
	k := decisionKey{o, r}
	if c, ok := (*cm.decisions.Load())[k]; ok {
		return c
	}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	cur := *cm.decisions.Load()
	if c, ok := cur[k]; ok {
		return c
	}
	if len(cur) >= maxDecisionLabels {
		k.reason = "other"
		if c, ok := cur[k]; ok {
			return c
		}
	}
	c := cm.vec.WithLabelValues(cm.name, o.String(), string(k.reason))
	next := maps.Clone(cur)
	next[k] = c
	cm.decisions.Store(&next)
	return c
}
