package radiusd

import (
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"radiusmfa/auth"
)

// ClientStats is the overview of one configured client since the server
// started, for the admin console. Only requests that passed admission
// count: from the client's networks, with valid authenticators, allowed by
// its Message-Authenticator policy, not a retransmission, and not dropped
// for overload. The counters are read one by one, so a snapshot taken while
// requests arrive may be a request apart between fields.
type ClientStats struct {
	Name     string
	Networks []string
	// RequireMessageAuthenticator is the configured policy: "true", "auto"
	// or "false". An "auto" client requires one from its first valid
	// Message-Authenticator on, which WithMessageAuthenticator > 0 shows.
	RequireMessageAuthenticator string

	LastRequest time.Time // zero when none arrived
	LastSource  string    // source address of a recent request; "" when none

	// Requests counts every admitted request: Access-Request,
	// Accounting-Request and Status-Server.
	Requests uint64
	// Accepts, Rejects and Challenges count the decisions on
	// Access-Requests (one that could not be evaluated is rejected; an
	// overload drop is none of them).
	Accepts, Rejects, Challenges uint64
	// WithMessageAuthenticator and WithoutMessageAuthenticator count the
	// admitted Access-Requests with a valid Message-Authenticator and
	// without one (only possible under "auto" before the first, or "false").
	WithMessageAuthenticator, WithoutMessageAuthenticator uint64
}

// clientSummary is the running tally behind ClientStats. The admission
// stage and the handlers update it on every request, so it is all atomics
// of its own client: no lock, nothing shared between clients.
type clientSummary struct {
	last      atomic.Int64 // Unix nanoseconds of the last admitted request; 0: none
	source    atomic.Pointer[netip.Addr]
	requests  atomic.Uint64
	withMA    atomic.Uint64
	withoutMA atomic.Uint64

	accepts, rejects, challenges atomic.Uint64
}

// admitted counts a request of type typ admitted at t from src.
func (cs *clientSummary) admitted(typ requestType, withMA bool, t time.Time, src netip.Addr) {
	cs.requests.Add(1)
	cs.last.Store(t.UnixNano())
	if p := cs.source.Load(); p == nil || *p != src {
		// A NAS keeps its address: a new one is stored (and allocated)
		// only when it changes.
		a := src
		cs.source.Store(&a)
	}
	if typ == typeAccess {
		if withMA {
			cs.withMA.Add(1)
		} else {
			cs.withoutMA.Add(1)
		}
	}
}

// decided counts the answer to an Access-Request; a drop is no answer.
func (cs *clientSummary) decided(o auth.Outcome) {
	switch o {
	case auth.Accept:
		cs.accepts.Add(1)
	case auth.Challenge:
		cs.challenges.Add(1)
	case auth.Drop:
	default:
		cs.rejects.Add(1) // replyCode rejects any other outcome too
	}
}

// ClientStats returns the overview of every configured client, those never
// heard from included, sorted by name.
func (s *Server) ClientStats() []ClientStats {
	out := make([]ClientStats, 0, len(s.clients.all))
	for _, c := range s.clients.all {
		out = append(out, c.stats())
	}
	slices.SortFunc(out, func(a, b ClientStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (c *clientState) stats() ClientStats {
	sum := &c.summary
	st := ClientStats{
		Name:                        c.name,
		Networks:                    make([]string, len(c.networks)),
		RequireMessageAuthenticator: c.requireMA.String(),
		Requests:                    sum.requests.Load(),
		Accepts:                     sum.accepts.Load(),
		Rejects:                     sum.rejects.Load(),
		Challenges:                  sum.challenges.Load(),
		WithMessageAuthenticator:    sum.withMA.Load(),
		WithoutMessageAuthenticator: sum.withoutMA.Load(),
	}
	for i, p := range c.networks {
		st.Networks[i] = p.String()
	}
	if ns := sum.last.Load(); ns != 0 {
		st.LastRequest = time.Unix(0, ns)
	}
	if a := sum.source.Load(); a != nil {
		st.LastSource = a.String()
	}
	return st
}
