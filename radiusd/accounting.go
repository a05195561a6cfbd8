package radiusd

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"radiusmfa/store"
)

// accountingEvent is what an Accounting-Request tells us, for the audit.
type accountingEvent struct {
	user, nasIdentifier, nasIPAddress, callingStationID string
	status, sessionID                                   string
}

// serveAccounting acknowledges an Accounting-Request (already authenticated
// by its Request Authenticator) and audits it. The reply cache makes a
// retransmission produce neither a second record nor a second reply.
func (s *Server) serveAccounting(r *request, pkt *radius.Packet) {
	ev := decodeAccounting(pkt)
	if !s.reply(r, radius.CodeAccountingResponse, "", nil, pkt.Attributes) {
		return
	}
	detail := "acct_status_type=" + ev.status + " acct_session_id=" + strconv.Quote(ev.sessionID)
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "radius accounting",
		slog.String("user", ev.user),
		slog.String("client", r.client.name),
		slog.String("nas_identifier", ev.nasIdentifier),
		slog.String("detail", detail))
	if s.audit != nil {
		s.audit.Record(store.AuditRecord{
			Time: r.received, Kind: "accounting", User: ev.user, Client: r.client.name,
			NASIdentifier: ev.nasIdentifier, NASIPAddress: ev.nasIPAddress,
			CallingStationID: ev.callingStationID, Detail: detail,
			Duration: time.Since(r.received),
		})
	}
}

func decodeAccounting(pkt *radius.Packet) accountingEvent {
	var ev accountingEvent
	for _, a := range pkt.Attributes {
		switch a.Type {
		case rfc2865.UserName_Type:
			ev.user = string(a.Attribute)
		case rfc2865.NASIdentifier_Type:
			ev.nasIdentifier = string(a.Attribute)
		case rfc2865.NASIPAddress_Type:
			if len(a.Attribute) == 4 {
				ev.nasIPAddress = netip.AddrFrom4([4]byte(a.Attribute)).String()
			}
		case rfc2865.CallingStationID_Type:
			ev.callingStationID = string(a.Attribute)
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
