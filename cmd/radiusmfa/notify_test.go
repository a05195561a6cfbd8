package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/config"
	"radiusmfa/factors/push"
	"radiusmfa/notify"
	"radiusmfa/notify/notifytest"
	"radiusmfa/store"
)

type auditRecorder struct {
	mu   sync.Mutex
	recs []store.AuditRecord
}

func (a *auditRecorder) Record(r store.AuditRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, r)
}

// webhookNotifier is a notifier posting to a fresh loopback receiver.
func webhookNotifier(t *testing.T, secret string) (*notify.Notifier, *notifytest.WebhookReceiver, *bytes.Buffer) {
	t.Helper()
	recv := notifytest.StartWebhook(t, nil)
	cfg := config.Default().Notify
	cfg.AllowLoopbackPlaintext = true
	cfg.Webhook.URL = recv.URL
	if secret != "" {
		cfg.Webhook.SecretFile = filepath.Join(t.TempDir(), "hook.key")
		if err := os.WriteFile(cfg.Webhook.SecretFile, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	n, err := startNotifier(cfg, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return n, recv, &logs
}

func receivedEvents(t *testing.T, recv *notifytest.WebhookReceiver, secret string) []notify.Event {
	t.Helper()
	var out []notify.Event
	for _, r := range recv.Requests() {
		if !r.SignedWith([]byte(secret)) {
			t.Errorf("request not signed with the secret file's key: %v", r.Header)
		}
		var ev notify.Event
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestPushEventNotifies: a report and a suspension reach the admins; a
// push that only ends does not.
func TestPushEventNotifies(t *testing.T) {
	n, recv, logs := webhookNotifier(t, "k3y")
	var audit auditRecorder
	discard := slog.New(slog.DiscardHandler)
	ctx := push.Context{User: "alice", Client: "vpn", NASIdentifier: "asa1", CallingStationID: "203.0.113.9"}
	pushEvent(push.Event{User: "alice", DeviceID: "d1", Verdict: push.Approved, Context: ctx}, &audit, n, discard)
	pushEvent(push.Event{User: "alice", DeviceID: "d1", Verdict: push.Reported, Suspended: true, Context: ctx}, &audit, n, discard)
	ctx.User = "bob"
	pushEvent(push.Event{User: "bob", DeviceID: "d2", Verdict: push.TimedOut, Suspended: true, Context: ctx}, &audit, n, discard)
	pushEvent(push.Event{User: "bob", DeviceID: "d2", Verdict: push.Denied, Context: ctx}, &audit, n, discard)
	closeNotifier(n, discard)

	evs := receivedEvents(t, recv, "k3y")
	if len(evs) != 2 {
		t.Fatalf("%d notifications, want 2: %+v\n%s", len(evs), evs, logs)
	}
	if e := evs[0]; e.Kind != notify.PushReported || e.User != "alice" || e.Client != "vpn" || e.NASIdentifier != "asa1" ||
		e.CallingStationID != "203.0.113.9" || !strings.Contains(e.Detail, "device d1") || !strings.Contains(e.Detail, "suspended") {
		t.Errorf("report notice %+v", e)
	}
	if e := evs[1]; e.Kind != notify.PushSuspended || e.User != "bob" || !strings.Contains(e.Detail, "push timed_out") {
		t.Errorf("suspension notice %+v", e)
	}
	if len(audit.recs) != 5 { // four push records and one report
		t.Errorf("%d audit records, want 5", len(audit.recs))
	}
}

func TestReportNotice(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := reportNotice(store.AuditRecord{Time: when, Kind: "report", User: "carol", Client: "vpn", NASIdentifier: "asa1",
		CallingStationID: "198.51.100.7", Outcome: "accept", Detail: "this wasn't me: login 12 at 2026-01-02T03:00:00Z"})
	if ev.Kind != notify.LoginReported || ev.User != "carol" || !ev.Time.Equal(when) || ev.CallingStationID != "198.51.100.7" ||
		ev.Detail != "this wasn't me: login 12 at 2026-01-02T03:00:00Z; the login's outcome: accept" {
		t.Errorf("%+v", ev)
	}
}

func TestStartNotifier(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	// No channel: a notifier that sends nothing.
	n, err := startNotifier(config.Default().Notify, discard, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(notify.Event{Kind: notify.PushReported, User: "alice"})
	if err := n.Close(context.Background()); err != nil {
		t.Error(err)
	}

	cfg := config.Default().Notify
	cfg.Webhook.URL = "https://hooks.example.com/T0KEN"
	cfg.Webhook.SecretFile = "/nonexistent/hook.key"
	if _, err := startNotifier(cfg, discard, prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), "notify.webhook.secret_file") {
		t.Errorf("missing secret file: %v", err)
	}
	cfg = config.Default().Notify
	cfg.Email = config.NotifyEmailConfig{Host: "smtp.example.com", TLS: "starttls", From: "mfa@example.com", To: []string{"a@example.com"},
		Username: "mfa", PasswordFile: "/nonexistent/pw"}
	if _, err := startNotifier(cfg, discard, prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), "notify.email.password_file") {
		t.Errorf("missing password file: %v", err)
	}
}
