package radiusd

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"layeh.com/radius"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// serve is the per-request goroutine: it finishes r and releases its slot.
func (s *Server) serve(r *request) {
	defer s.release(r)
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
		s.serveAccess(r, pkt)
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
	if err := s.reply(r, code, "", nil, nil, pkt.Attributes); err != nil {
		s.log.Error("radius reply not sent", slog.String("client", r.client.name), slog.Any("err", err))
	}
}

// serveAccess decides an Access-Request, answers it and records the
// decision, also when the reply could not be encoded. A Drop decision sends
// nothing and forgets the request, so its retransmission runs anew.
func (s *Server) serveAccess(r *request, pkt *radius.Packet) {
	req, invalid := decodeAccessRequest(pkt, r)
	var d auth.Decision
	if invalid == "" {
		timeout := s.cfg.RequestTimeout
		if r.client.timeout > 0 {
			timeout = r.client.timeout
		}
		ctx, cancel := context.WithTimeout(s.base, timeout)
		d = s.decider.Decide(ctx, req)
		cancel()
	} else {
		d = auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonInvalidRequest, Message: auth.MsgInvalid}
	}
	req.Password = ""
	var replyErr error
	if d.Outcome == auth.Drop {
		s.cache.forget(r.key)
	} else {
		replyErr = s.reply(r, replyCode(d.Outcome), d.Message, d.State, d.Attributes, pkt.Attributes)
	}
	s.recordDecision(r, &req, &d, invalid, replyErr)
}

// recordDecision writes the decision's one log line, audit record and
// metrics. The line is at Error level when the decision carries an internal
// cause (d.Err, logged as err) or its reply could not be encoded
// (reply_error); the audit gets neither text, only "reply=not_sent" in
// Detail, beside "invalid=<cause>" for a request that could not be evaluated.
//
// Invariant: neither the password nor State nor the secret is logged or
// audited (TestInvariantNoSecretLogged).
func (s *Server) recordDecision(r *request, req *auth.Request, d *auth.Decision, invalid invalidCause, replyErr error) {
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
