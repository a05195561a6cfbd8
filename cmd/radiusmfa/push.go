package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/config"
	"radiusmfa/factors/push"
	"radiusmfa/factors/push/webpush"
	"radiusmfa/notify"
	"radiusmfa/store"
)

// pushParts is push approval as serve runs it.
type pushParts struct {
	service *push.Service
	vapid   *webpush.VAPID
	// ntfyServer and links are set while push.ntfy is on.
	ntfyServer string
	links      *push.LinkKey
}

// startPush wires push approval: the VAPID keys kept in the store, the
// Web Push sender, the hub of pending pushes with its events audited, and
// the per-client wait. It returns nil parts when push is disabled.
func startPush(ctx context.Context, cfg *config.Config, st store.Store, audit interface{ Record(store.AuditRecord) }, notifier *notify.Notifier, reg prometheus.Registerer, log *slog.Logger) (*pushParts, error) {
	if !cfg.Push.Enabled || cfg.Web.Listen == "" {
		return nil, nil
	}
	geo, err := openGeoIP(cfg)
	if err != nil {
		return nil, err
	}
	var locate func(string) string
	if geo != nil {
		log.Info("push approval shows where logins come from", "geoip_database", cfg.Push.GeoIPDatabase, "database", geo.Describe())
		go watchGeoIP(ctx, geo, cfg.Push.GeoIPDatabase, log)
		locate = geo.Locate
	}
	vapid, err := webpush.LoadOrCreateVAPID(ctx, st, cfg.Push.Contact)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	timeouts := map[string]time.Duration{}
	for _, cl := range cfg.Radius.Clients {
		timeouts[cl.Name] = cl.PushTimeout
	}
	if cfg.Push.AllowLoopbackHTTPEndpoints {
		log.Warn("push.allow_loopback_http_endpoints is on: pushes may go over plain http to a loopback push service (for tests only)")
	}
	settled := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "radiusmfa_push_settled_total",
		Help: "Pushes ended, by verdict (approved, denied, reported, timed_out, cancelled) and reason.",
	}, []string{"verdict", "reason"})
	suspended := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "radiusmfa_push_suspensions_total",
		Help: "Users whose push approval was suspended (after a report, or denied or unanswered pushes in a row).",
	})
	hub := push.NewHub(push.Options{OnEvent: func(ev push.Event) {
		settled.WithLabelValues(ev.Verdict.String(), ev.Reason).Inc()
		if ev.Suspended {
			suspended.Inc()
		}
		pushEvent(ev, audit, notifier, log)
	}})
	if reg != nil {
		reg.MustRegister(settled, suspended, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "radiusmfa_push_pending",
			Help: "Pushes waiting for an answer.",
		}, func() float64 { return float64(hub.Len()) }))
	}
	sender := webpush.NewSender(vapid, webpush.Options{AllowHTTP: cfg.Push.AllowLoopbackHTTPEndpoints})
	publisher, links, err := startNtfy(ctx, cfg, st, log)
	if err != nil {
		return nil, err
	}
	svc := push.NewService(hub, webpushSender{sender}, push.ServiceOptions{
		Timeout: func(client string) time.Duration {
			if d, ok := timeouts[client]; ok {
				return d
			}
			return config.DefaultPushTimeout
		},
		Gone: func(user, id string) {
			// The phone's subscription expired: the device is disabled
			// until the user pairs it again.
			err := st.UpdateEnrollment(context.Background(), user, id, func(e *store.Enrollment) error {
				e.Disabled = true
				return nil
			})
			log.Warn("push subscription gone: approver disabled until paired again", "user", user, "device", id, "err", err)
		},
		Locate: locate,
		Ntfy:   publisher,
		Links:  links,
	})
	return &pushParts{service: svc, vapid: vapid, ntfyServer: cfg.Push.Ntfy.URL, links: links}, nil
}

// pushEvent audits how a push ended and tells the admins of a report or a
// suspension.
func pushEvent(ev push.Event, audit interface{ Record(store.AuditRecord) }, notifier *notify.Notifier, log *slog.Logger) {
	rec := store.AuditRecord{Time: time.Now().UTC(), Kind: "push", User: ev.User, Client: ev.Context.Client,
		NASIdentifier: ev.Context.NASIdentifier, NASIPAddress: ev.Context.NASIPAddress,
		CallingStationID: ev.Context.CallingStationID, Factor: "push", Outcome: ev.Verdict.String(), Reason: ev.Reason,
		Detail: "device " + ev.DeviceID}
	if ev.Context.Location != "" {
		rec.Detail += "; from " + ev.Context.Location
	}
	if ev.Suspended {
		rec.Detail += "; push suspended for the user"
	}
	audit.Record(rec)
	switch {
	case ev.Verdict == push.Reported:
		audit.Record(store.AuditRecord{Time: rec.Time, Kind: "report", User: ev.User, Client: ev.Context.Client,
			NASIdentifier: ev.Context.NASIdentifier, CallingStationID: ev.Context.CallingStationID,
			Detail: "deny and report: a push the user did not start"})
		log.Warn("a user denied and reported a push they did not start: push is suspended for them", "user", ev.User,
			"client", ev.Context.Client, "calling_station_id", ev.Context.CallingStationID)
		notifier.Notify(pushNotice(notify.PushReported, ev, rec.Detail))
	case ev.Suspended:
		log.Warn("push suspended for a user after denied or unanswered pushes", "user", ev.User)
		notifier.Notify(pushNotice(notify.PushSuspended, ev, rec.Detail))
	}
}

// webpushSender adapts the Web Push sender to push.Sender.
type webpushSender struct{ s *webpush.Sender }

func (w webpushSender) Send(ctx context.Context, sub push.Subscription, payload []byte) error {
	err := w.s.Send(ctx, webpush.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, payload)
	if errors.Is(err, webpush.ErrGone) {
		return fmt.Errorf("%w: %w", push.ErrGone, err)
	}
	return err
}
