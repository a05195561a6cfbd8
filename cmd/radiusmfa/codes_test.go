package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"radiusmfa/auth"
	"radiusmfa/config"
	"radiusmfa/factors/factortest"
	"radiusmfa/factors/otc"
)

// The configuration fills in the default messages it documents; the
// sender has its own for a caller with none. They must say the same.
func TestDefaultMessagesAgree(t *testing.T) {
	if config.DefaultSMSMessage != otc.DefaultSMSMessage || config.DefaultVoiceMessage != otc.DefaultVoiceMessage ||
		config.DefaultEmailSubject != otc.DefaultEmailSubject {
		t.Fatal("config's and otc's default messages differ")
	}
}

func TestStartCodes(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	db := factortest.OpenBolt(t)
	cfg := config.Default()
	s, err := startCodes(cfg, db, discard, prometheus.NewRegistry())
	if err != nil || s != nil {
		t.Fatalf("no channel on: %v, %v", s, err)
	}

	dir := t.TempDir()
	token, script := filepath.Join(dir, "token"), filepath.Join(dir, "send.sh")
	if err := os.WriteFile(token, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat >/dev/null\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Codes.SMS.Provider = "twilio"
	cfg.Codes.SMS.Twilio = config.TwilioConfig{URL: "https://api.twilio.com", AccountSID: "AC123", AuthTokenFile: token, From: "+15005550006"}
	cfg.Codes.Voice.Provider = "command"
	cfg.Codes.Voice.Command = config.CommandConfig{Path: script, Args: []string{"{to}"}}
	cfg.Codes.Email = config.CodesEmailConfig{Host: "mail.example.com", TLS: "starttls", From: "vpn@example.com"}
	s, err = startCodes(cfg, db, discard, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range s.Factors() {
		kinds = append(kinds, f.Kind())
	}
	if strings.Join(kinds, ",") != "sms,voice,email" || !s.Sends(auth.KindVoice) {
		t.Fatalf("factors %v", kinds)
	}

	cfg.Codes.Phone.DefaultRegion = "ZZ"
	if _, err := startCodes(cfg, db, discard, prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), "codes.phone") {
		t.Fatalf("an unknown region: %v", err)
	}
	cfg.Codes.Phone.DefaultRegion = ""
	cfg.Codes.SMS.Twilio.AuthTokenFile = filepath.Join(dir, "missing")
	if _, err := startCodes(cfg, db, discard, prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), "codes.sms.twilio.auth_token_file") {
		t.Fatalf("a missing token file: %v", err)
	}
}
