package radiusd

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc3162"

	"radiusmfa/auth"
	"radiusmfa/store"
)

// invalidRequestMessage is the public reply to a request this server cannot
// evaluate (no User-Name, or no User-Password: CHAP and EAP are unsupported).
const invalidRequestMessage = "Invalid request"

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
	s.reply(r, code, "", nil, pkt.Attributes)
}

// serveAccess decides an Access-Request and answers it. A Drop decision
// sends nothing and forgets the request, so its retransmission runs anew.
func (s *Server) serveAccess(r *request, pkt *radius.Packet) {
	req, ok := decodeAccessRequest(pkt, r)
	var d auth.Decision
	if ok {
		ctx, cancel := context.WithTimeout(s.base, s.cfg.RequestTimeout)
		d = s.decider.Decide(ctx, req)
		cancel()
	} else {
		d = auth.Decision{Outcome: auth.Reject, Reason: auth.ReasonInvalidRequest, Message: invalidRequestMessage}
	}
	req.Password = ""
	if d.Outcome == auth.Drop {
		s.cache.forget(r.key)
	} else if !s.reply(r, replyCode(d.Outcome), d.Message, d.State, pkt.Attributes) {
		return
	}
	s.recordDecision(r, &req, &d)
}

// decodeAccessRequest builds the engine's request. ok is false when the
// request lacks a User-Name or a decodable User-Password.
func decodeAccessRequest(pkt *radius.Packet, r *request) (req auth.Request, ok bool) {
	req = auth.Request{Client: r.client.name, Source: r.source()}
	var password radius.Attribute
	var nasIPv6 string
	for _, a := range pkt.Attributes {
		switch a.Type {
		case rfc2865.UserName_Type:
			req.UserName = string(a.Attribute)
		case rfc2865.UserPassword_Type:
			password = a.Attribute
		case rfc2865.NASIdentifier_Type:
			req.NASIdentifier = string(a.Attribute)
		case rfc2865.NASIPAddress_Type:
			if len(a.Attribute) == 4 {
				req.NASIPAddress = netip.AddrFrom4([4]byte(a.Attribute)).String()
			}
		case rfc3162.NASIPv6Address_Type:
			if len(a.Attribute) == 16 {
				nasIPv6 = netip.AddrFrom16([16]byte(a.Attribute)).String()
			}
		case rfc2865.CallingStationID_Type:
			req.CallingStationID = string(a.Attribute)
		}
	}
	if req.NASIPAddress == "" {
		req.NASIPAddress = nasIPv6
	}
	if req.UserName == "" || password == nil {
		return req, false
	}
	pw, err := radius.UserPassword(password, r.client.secret, r.requestAuthenticator())
	if err != nil {
		return req, false
	}
	req.Password = string(pw)
	clear(pw)
	return req, true
}

// recordDecision writes the decision's one log line, audit record and metrics.
//
// Invariant: neither the password nor State nor the secret is logged or
// audited (TestInvariantNoSecretLogged).
func (s *Server) recordDecision(r *request, req *auth.Request, d *auth.Decision) {
	dur := time.Since(r.received)
	s.metrics.duration.Observe(dur.Seconds())
	r.client.metrics.decision(d.Outcome, d.Reason).Inc()
	user := d.User
	if user == "" {
		user = req.UserName
	}
	ctx := context.Background()
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.LogAttrs(ctx, slog.LevelInfo, "radius decision",
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
		)
	}
	if s.audit != nil {
		s.audit.Record(store.AuditRecord{
			Time: r.received, Kind: "auth", User: user, Client: r.client.name,
			NASIdentifier: req.NASIdentifier, NASIPAddress: req.NASIPAddress,
			CallingStationID: req.CallingStationID, Factor: d.Factor,
			Outcome: d.Outcome.String(), Reason: string(d.Reason), Duration: dur,
		})
	}
}
