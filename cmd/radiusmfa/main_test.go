package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"radiusmfa/config"
	"radiusmfa/radiusd"
)

func TestParseFlagsAfterArguments(t *testing.T) {
	c := &cli{stderr: &bytes.Buffer{}}
	fs, cfg := c.flags("user add")
	pos, err := parse(fs, []string{"alice", "--config", "x.yaml"})
	if err != nil || *cfg != "x.yaml" || len(pos) != 1 || pos[0] != "alice" {
		t.Fatalf("pos %q cfg %q err %v", pos, *cfg, err)
	}
	fs, cfg = c.flags("user add")
	pos, err = parse(fs, []string{"--config=y.yaml", "bob", "extra"})
	if err != nil || *cfg != "y.yaml" || strings.Join(pos, " ") != "bob extra" {
		t.Fatalf("pos %q cfg %q err %v", pos, *cfg, err)
	}
	fs, _ = c.flags("user add")
	if _, err := parse(fs, []string{"alice", "--bogus"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

func TestRadiusConfigMapping(t *testing.T) {
	rc, err := radiusConfig(config.RadiusConfig{
		Listen: []string{"127.0.0.1:0"},
		Clients: []config.ClientConfig{
			{Name: "a", Networks: []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::1/128"}, Secret: "s", RequireMessageAuthenticator: "auto"},
			{Name: "b", Networks: []string{"10.0.0.0/8"}, Secret: "t", RequireMessageAuthenticator: "false"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rc.Clients[0], rc.Clients[1]
	if a.RequireMA != radiusd.MAAuto || b.RequireMA != radiusd.MAOptional {
		t.Fatalf("MA requirement %v %v", a.RequireMA, b.RequireMA)
	}
	got := []string{a.Networks[0].String(), a.Networks[1].String(), a.Networks[2].String(), b.Networks[0].String()}
	want := "10.0.0.0/8 192.0.2.1/32 2001:db8::1/128 10.0.0.0/8"
	if strings.Join(got, " ") != want {
		t.Fatalf("networks %q, want %q", got, want)
	}
	if _, err := radiusConfig(config.RadiusConfig{Clients: []config.ClientConfig{{Name: "x", Networks: []string{"nonsense"}}}}); err == nil {
		t.Fatal("bad network accepted")
	}
}

func TestWaitReady(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	line := `time=x level=INFO msg="radiusmfa ready" version=dev auth=127.0.0.1:4242,[::1]:4242 accounting= ops=` + "\n"
	if err := os.WriteFile(log, []byte("warning: x\n"+line), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, err := waitReady(log, make(chan struct{}), 2*time.Second)
	if err != nil || addr != "127.0.0.1:4242" {
		t.Fatalf("addr %q err %v", addr, err)
	}
	exited := make(chan struct{})
	close(exited)
	if _, err := waitReady(filepath.Join(dir, "none"), exited, 2*time.Second); err == nil {
		t.Fatal("an exited server was reported ready")
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb}
	if code := c.run([]string{"frobnicate"}); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if code := c.run([]string{"version"}); code != 0 || !strings.HasPrefix(out.String(), "radiusmfa ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
}

// The generator's own HOTP must agree with RFC 4226 Appendix D.
func TestBenchHOTPMatchesRFC4226(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := hotpCode([]byte("12345678901234567890"), uint64(i)); got != w {
			t.Errorf("counter %d: %s, want %s", i, got, w)
		}
	}
}

// The generator's packets must be what layeh and the server accept.
func TestBenchRequestEncoding(t *testing.T) {
	secret := []byte("testing123")
	raw := newRequestEncoder(secret).encode(7, "alice", "a-long-password-over-16", "123456")
	p, err := radius.Parse(raw, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Identifier != 7 || rfc2865.UserName_GetString(p) != "alice" || rfc2865.UserPassword_GetString(p) != "a-long-password-over-16,123456" {
		t.Fatalf("decoded %d %q %q", p.Identifier, rfc2865.UserName_GetString(p), rfc2865.UserPassword_GetString(p))
	}
	// RFC 3579 §3.2: HMAC-MD5 over the packet with the attribute zeroed.
	if raw[20] != 80 || raw[21] != 18 {
		t.Fatal("Message-Authenticator is not the first attribute")
	}
	zeroed := append([]byte(nil), raw...)
	clear(zeroed[22:38])
	mac := hmac.New(md5.New, secret)
	mac.Write(zeroed)
	if !hmac.Equal(mac.Sum(nil), raw[22:38]) {
		t.Fatal("Message-Authenticator does not verify")
	}
}

func TestKeyWouldBeNew(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{Store: config.StoreConfig{Path: filepath.Join(dir, "db"), MasterKeyFile: filepath.Join(dir, "key")}}
	if err := keyWouldBeNew(cfg, ""); err != nil {
		t.Fatalf("first run refused: %v", err)
	}
	if err := os.WriteFile(cfg.Store.Path, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keyWouldBeNew(cfg, ""); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("a new key beside an existing database: %v", err)
	}
	if err := keyWouldBeNew(cfg, "a-key-from-the-environment"); err != nil {
		t.Fatalf("key from the environment refused: %v", err)
	}
	if err := os.WriteFile(cfg.Store.MasterKeyFile, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keyWouldBeNew(cfg, ""); err != nil {
		t.Fatalf("existing key refused: %v", err)
	}
}

func TestHealthz(t *testing.T) {
	var failing atomic.Bool
	ops, err := startOps(config.OpsConfig{Listen: "127.0.0.1:0"}, prometheus.NewRegistry(),
		func(context.Context) error {
			if failing.Load() {
				return errors.New("store closed")
			}
			return nil
		}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	get := func() int {
		resp, err := http.Get("http://" + ops.Addr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("healthy: %d", code)
	}
	failing.Store(true)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("unhealthy: %d", code)
	}
	resp, err := http.Get("http://" + ops.Addr() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("pprof served without ops.pprof: %d", resp.StatusCode)
	}
}
