// Package radiusd is the thin RADIUS adapter of radiusmfa: it owns the UDP
// listeners (authentication and accounting ports), maps source addresses to
// clients (longest-prefix match), verifies and requires Message-Authenticator
// (RFC 2869/3579, with the BlastRADIUS Proxy-State rule), deduplicates
// retransmissions with an RFC 5080 reply cache, bounds concurrency, and turns
// an auth.Decision into a signed reply. It uses layeh.com/radius only as a
// packet codec; the serving loop is its own so that the hot path stays lean.
//
// An Access-Accept also carries the reply attributes the decision grants
// (Class, Filter-Id, vendor roles and groups), which ParseAttribute builds
// from configuration through layeh's dictionaries: rfc2865, layeh's vendor
// packages, and ours generated under radiusd/vendors.
//
// A datagram goes through two stages. The socket's read goroutine does the
// cheap, bounded work: client lookup, header and attribute-structure checks,
// authenticator checks, the reply-cache lookup and the in-flight semaphore.
// Only then is a goroutine started that parses the attributes, calls the
// Decider under a deadline, encodes, caches and writes the reply, and emits
// the one log line and audit record of the decision.
//
// Each client also keeps an in-memory overview for the admin console
// (ClientStats): last request, counts by outcome, and how many
// Access-Requests came with and without a Message-Authenticator, updated
// with per-client atomics on the way.
//
// Invariants (each has a TestInvariant… test):
//   - Every reply to an Access-Request or Status-Server carries a valid
//     Message-Authenticator as its first attribute.
//   - Granted attributes are sent in an Access-Accept only.
//   - A retransmitted request never runs the Decider twice.
//   - An Access-Request carrying Proxy-State needs a Message-Authenticator.
//   - No password, State or secret is logged or audited.
package radiusd
