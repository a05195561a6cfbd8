package radiusd

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"radiusmfa/store"
)

// accountingEvent is what an Accounting-Request tells us, for the audit.
type accountingEvent struct {
	nasAttributes
	user, status, sessionID string
}

// serveAccounting acknowledges an Accounting-Request (already authenticated
// by its Request Authenticator) and audits it. The reply cache makes a
// retransmission produce neither a second record nor a second reply.
func (s *Server) serveAccounting(r *request, pkt *radius.Packet) {
	ev := decodeAccounting(pkt)
	// An Accounting-Response is a header and the request's Proxy-State, so
	// it always fits; were it not to, the event is still audited, once.
	replyErr := s.reply(&r.origin, radius.CodeAccountingResponse, "", nil, nil, pkt.Attributes)
	detail := "acct_status_type=" + ev.status + " acct_session_id=" + strconv.Quote(ev.sessionID)
	attrs := []slog.Attr{
		slog.String("user", ev.user),
		slog.String("client", r.client.name),
		slog.String("nas_identifier", ev.identifier),
		slog.String("detail", detail),
	}
	level := slog.LevelDebug
	if replyErr != nil {
		level, attrs = slog.LevelError, append(attrs, slog.Any("reply_error", replyErr))
	}
	s.log.LogAttrs(context.Background(), level, "radius accounting", attrs...)
	if s.audit != nil {
		s.audit.Record(store.AuditRecord{
			Time: r.received, Kind: "accounting", User: ev.user, Client: r.client.name,
			NASIdentifier: ev.identifier, NASIPAddress: ev.ipAddress,
			CallingStationID: ev.callingStationID, Detail: detail,
			Duration: time.Since(r.received),
		})
	}
}

func decodeAccounting(pkt *radius.Packet) accountingEvent {
	ev := accountingEvent{nasAttributes: decodeNAS(pkt.Attributes)}
	for _, a := range pkt.Attributes {
		switch a.Type {
		case rfc2865.UserName_Type:
			ev.user = string(a.Attribute)
		case rfc2866.AcctStatusType_Type:
			ev.status = acctStatusName(a.Attribute)
		case rfc2866.AcctSessionID_Type:
			ev.sessionID = string(a.Attribute)
		}
	}
	if ev.status == "" {
		ev.status = "missing"
	}
	return ev
}

// acctStatusName names an Acct-Status-Type value, or gives its number.
func acctStatusName(a radius.Attribute) string {
	v, err := radius.Integer(a)
	if err != nil {
		return "invalid"
	}
	switch rfc2866.AcctStatusType(v) {
	case rfc2866.AcctStatusType_Value_Start:
		return "Start"
	case rfc2866.AcctStatusType_Value_Stop:
		return "Stop"
	case rfc2866.AcctStatusType_Value_InterimUpdate:
		return "Interim-Update"
	case rfc2866.AcctStatusType_Value_AccountingOn:
		return "Accounting-On"
	case rfc2866.AcctStatusType_Value_AccountingOff:
		return "Accounting-Off"
	}
	return strconv.FormatUint(uint64(v), 10)
}
