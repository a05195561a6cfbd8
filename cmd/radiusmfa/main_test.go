package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			{Name: "a", Networks: []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::1"}, Secret: "s", RequireMessageAuthenticator: "auto"},
			{Name: "b", Networks: []string{"10.1.2.3/8"}, Secret: "t", RequireMessageAuthenticator: "false"},
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
