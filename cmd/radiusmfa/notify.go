package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/config"
	"radiusmfa/factors/push"
	"radiusmfa/notify"
	"radiusmfa/store"
)

// startNotifier builds the admins' notifier from the notify section: a
// webhook, an email channel, both or neither (it then sends nothing).
func startNotifier(cfg config.NotifyConfig, log *slog.Logger, reg prometheus.Registerer) (*notify.Notifier, error) {
	if cfg.AllowLoopbackPlaintext {
		log.Warn("notify.allow_loopback_plaintext is on: admin notifications may go in clear to a loopback address (for tests only)")
	}
	var channels []notify.Channel
	var where []string // for the start line: hosts only, a webhook URL may hold a token
	if w := cfg.Webhook; w.URL != "" {
		var secret []byte
		if w.SecretFile != "" {
			s, err := config.ReadSecretFile(w.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("notify.webhook.secret_file: %w", err)
			}
			secret = []byte(s)
		}
		hook, err := notify.NewWebhook(w.URL, notify.WebhookOptions{Secret: secret, AllowLoopbackHTTP: cfg.AllowLoopbackPlaintext})
		if err != nil {
			return nil, fmt.Errorf("notify.webhook.url: %w", err)
		}
		channels = append(channels, hook)
		where = append(where, "webhook")
	}
	if e := cfg.Email; e.Host != "" {
		var password string
		if e.PasswordFile != "" {
			var err error
			if password, err = config.ReadSecretFile(e.PasswordFile); err != nil {
				return nil, fmt.Errorf("notify.email.password_file: %w", err)
			}
		}
		mail, err := notify.NewEmail(notify.EmailOptions{Host: e.Host, Port: e.Port, TLS: e.TLS,
			AllowLoopbackPlaintext: cfg.AllowLoopbackPlaintext, Username: e.Username, Password: password,
			From: e.From, To: e.To})
		if err != nil {
			return nil, fmt.Errorf("notify.email: %w", err)
		}
		channels = append(channels, mail)
		where = append(where, "email via "+e.Host)
	}
	if len(channels) > 0 {
		log.Info("admins are notified of reports and push suspensions", "channels", strings.Join(where, ", "),
			"events", strings.Join(cfg.Events, ","))
	}
	return notify.New(log, reg, notify.Options{Events: cfg.Events}, channels...), nil
}

// closeNotifier sends what is still queued, for at most a few seconds.
func closeNotifier(n *notify.Notifier, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		log.Warn("admin notifications still queued at shutdown were dropped", "err", err)
	}
}

// pushNotice is the admins' notice of a push event; detail is its audit
// record's.
func pushNotice(kind string, ev push.Event, detail string) notify.Event {
	return notify.Event{Kind: kind, Time: time.Now(), User: ev.User, Client: ev.Context.Client,
		NASIdentifier: ev.Context.NASIdentifier, CallingStationID: ev.Context.CallingStationID,
		Detail: "push " + ev.Verdict.String() + "; " + detail}
}

// reportNotice is the admins' notice of a "this wasn't me" audit record.
func reportNotice(r store.AuditRecord) notify.Event {
	detail := r.Detail
	if r.Outcome != "" {
		detail += "; the login's outcome: " + r.Outcome
	}
	return notify.Event{Kind: notify.LoginReported, Time: r.Time, User: r.User, Client: r.Client,
		NASIdentifier: r.NASIdentifier, CallingStationID: r.CallingStationID, Detail: detail}
}
