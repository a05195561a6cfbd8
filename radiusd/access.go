package radiusd

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// serve finishes r on a handler goroutine and releases its slot, unless r
// is held for the user's answer (see hold). r's buffer goes back to the
// pool either way.
func (s *Server) serve(r *request) {
	held := false
	defer func() {
		s.requests.Put(r)
		if !held {
			s.release()
		}
	}()
	pkt, err := radius.Parse(r.packet(), r.client.secret)
	if err != nil { // unreachable after scanAttributes, kept as a guard
		if r.typ != typeStatus {
			s.cache.forget(r.key)
		}
		s.drop(dropMalformed, r.client, r.source())
		return
	}
	switch r.typ {
	case typeAccess:
		held = s.serveAccess(r, pkt)
	case typeAccounting:
		s.serveAccounting(r, pkt)
	case typeStatus:
		s.serveStatus(r, pkt)
	}
}

// serveStatus answers Status-Server (RFC 5997): Access-Accept on an
// authentication port, Accounting-Response on an accounting port.
func (s *Server) serveStatus(r *request, pkt *radius.Packet) {
	code := radius.CodeAccessAccept
	if r.l.kind == portAcct {
		code = radius.CodeAccountingResponse
	}
	if err := s.reply(&r.origin, code, "", nil, nil, pkt.Attributes); err != nil {
		s.log.Error("radius reply not sent", slog.String("client", r.client.name), slog.Any("err", err))
	}
}

// serveAccess decides an Access-Request and answers it, or holds it when
// the decision waits on the user (it then returns true).
func (s *Server) serveAccess(r *request, pkt *radius.Packet) (held bool) {
	req, invalid := decodeAccessRequest(pkt, r)
	if invalid != "" {
		req.Password = ""
		d := auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonInvalidRequest, Message: auth.MsgInvalid}
		s.answer(&r.origin, &req, d, invalid, pkt.Attributes)
		return false
	}
	timeout := s.cfg.RequestTimeout
	if r.client.timeout > 0 {
		timeout = r.client.timeout
	}
	ctx, cancel := context.WithTimeout(s.base, timeout)
	d := s.decider.Decide(ctx, req)
	cancel()
	req.Password = ""
	if d.Outcome == auth.Pending {
		s.hold(r, pkt, req, d)
		return true
	}
	s.answer(&r.origin, &req, d, "", pkt.Attributes)
	return false
}

// answer sends the reply of a decided Access-Request and records the
// decision, also when the reply could not be encoded. A Drop decision sends
// nothing and forgets the request, so its retransmission runs anew. attrs
// holds the request's Proxy-State attributes (and maybe others, ignored).
func (s *Server) answer(o *origin, req *auth.Request, d auth.Decision, invalid invalidCause, attrs radius.Attributes) {
	var replyErr error
	if d.Outcome == auth.Drop {
		s.cache.forget(o.key)
	} else {
		replyErr = s.reply(o, replyCode(d.Outcome), d.Message, d.State, d.Attributes, attrs)
	}
	s.recordDecision(o, req, &d, invalid, replyErr)
}

// heldRequest is an Access-Request waiting on the user's answer to a push:
// what its reply and its record need, without the datagram's buffer and
// without a goroutine. Its reply-cache entry stays pending meanwhile, so a
// retransmission is dropped, never decided again.
type heldRequest struct {
	origin
	req   auth.Request      // without the password
	proxy radius.Attributes // copies of the request's Proxy-State attributes
}

// hold keeps the request of the Pending decision d and returns; d's
// final decision answers it later, from another goroutine. A held request
// gives back its in-flight slot at once (waiting is no work, and the number
// of pushes is bounded by the push Hub) but is waited for by Shutdown.
//
// The request's own timeout no longer applies: the push's expiry (below the
// client's timeout) ends the wait, and so does the end of the server (a
// timeout).
func (s *Server) hold(r *request, pkt *radius.Packet, req auth.Request, d auth.Decision) {
	req.State = nil // the challenge answered, if any: not needed for the record
	h := &heldRequest{origin: r.origin, req: req, proxy: proxyStates(pkt.Attributes)}
	s.held.Add(1)
	s.inFlight.Add(-1)
	d.Await(s.base, func(final auth.Decision) {
		s.answer(&h.origin, &h.req, final, "", h.proxy)
		s.held.Add(-1)
		s.handlers.Done()
	})
}

// proxyStates copies the Proxy-State attributes of as, in order: a reply
// echoes them (RFC 2865 §5.33), and as points into a buffer that is reused.
func proxyStates(as radius.Attributes) radius.Attributes {
	var out radius.Attributes
	for _, a := range as {
		if a.Type == rfc2865.ProxyState_Type {
			out = append(out, &radius.AVP{Type: a.Type, Attribute: bytes.Clone(a.Attribute)})
		}
	}
	return out
}

// recordDecision writes the decision's one log line, audit record and
// metrics. The line is at Error level when the decision carries an internal
// cause (d.Err, logged as err) or its reply could not be encoded
// (reply_error); the audit gets neither text, only "reply=not_sent" in
// Detail, beside "invalid=<cause>" for a request that could not be evaluated.
//
// Invariant: neither the password nor State nor the secret is logged or
// audited (TestInvariantNoSecretLogged).
func (s *Server) recordDecision(r *origin, req *auth.Request, d *auth.Decision, invalid invalidCause, replyErr error) {
	dur := time.Since(r.received)
	s.metrics.duration.Observe(dur.Seconds())
	r.client.metrics.decision(d.Outcome, d.Reason).Inc()
	r.client.summary.decided(d.Outcome)
	user := d.User
	if user == "" {
		user = req.UserName
	}
	detail := decisionDetail(invalid, replyErr)
	level := slog.LevelInfo
	if d.Err != nil || replyErr != nil {
		level = slog.LevelError
	}
	if ctx := context.Background(); s.log.Enabled(ctx, level) {
		attrs := []slog.Attr{
			slog.String("user", user),
			slog.String("client", r.client.name),
			slog.String("src", req.Source.String()),
			slog.String("nas_identifier", req.NASIdentifier),
			slog.String("nas_ip_address", req.NASIPAddress),
			slog.String("calling_station_id", req.CallingStationID),
			slog.String("factor", d.Factor),
			slog.String("outcome", d.Outcome.String()),
			slog.String("reason", string(d.Reason)),
			slog.Float64("duration_ms", float64(dur.Microseconds())/1000),
		}
		if detail != "" {
			attrs = append(attrs, slog.String("detail", detail))
		}
		if d.Outcome == auth.Accept && len(d.Attributes) > 0 {
			// What policy granted, so an operator can see which VPN group
			// policy a user landed in; policy values are configuration,
			// not secrets.
			attrs = append(attrs, slog.String("reply_attributes", grantedList(d.Attributes)))
		}
		if d.Err != nil {
			attrs = append(attrs, slog.Any("err", d.Err))
		}
		if replyErr != nil {
			attrs = append(attrs, slog.Any("reply_error", replyErr))
		}
		s.log.LogAttrs(ctx, level, "radius decision", attrs...)
	}
	if s.audit != nil {
		s.audit.Record(store.AuditRecord{
			Time: r.received, Kind: "auth", User: user, Client: r.client.name,
			NASIdentifier: req.NASIdentifier, NASIPAddress: req.NASIPAddress,
			CallingStationID: req.CallingStationID, Factor: d.Factor,
			Outcome: d.Outcome.String(), Reason: string(d.Reason), Detail: detail, Duration: dur,
		})
	}
}

// grantedList spells granted attributes as Name="value" pairs.
func grantedList(as []auth.Attribute) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Name + "=" + strconv.Quote(a.Value)
	}
	return strings.Join(parts, " ")
}

// decisionDetail is the Detail of a decision's audit record: why the request
// could not be evaluated, and whether the NAS got no reply.
func decisionDetail(invalid invalidCause, replyErr error) string {
	var parts []string
	if invalid != "" {
		parts = append(parts, "invalid="+string(invalid))
	}
	if replyErr != nil {
		parts = append(parts, "reply=not_sent")
	}
	return strings.Join(parts, " ")
}
