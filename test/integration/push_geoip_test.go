package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"radiusmfa/internal/geoip/geoiptest"
)

// geoipServerOpts is pushServerOpts with push.geoip_database set to a
// small City database made for the test: 203.0.113.0/24 is in Berlin,
// 2001:db8::/32 in Amsterdam, and the private ranges have records the
// server must not use (geoiptest.Places).
func geoipServerOpts(t *testing.T) serverOpts {
	t.Helper()
	path := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	if err := geoiptest.Write(path, "GeoLite2-City", geoiptest.Places); err != nil {
		t.Fatal(err)
	}
	o := pushServerOpts()
	o.Extra += fmt.Sprintf("  geoip_database: %q\n", path)
	return o
}

// TestPushGeoIP: with push.geoip_database, the push a login sends carries
// where its Calling-Station-Id is, in the payload the phone decrypts, and
// the push's audit record names it; an address the database must not place
// (private) or cannot read (a MAC address) sends the push without one.
func TestPushGeoIP(t *testing.T) {
	t.Parallel()
	s := startServer(t, geoipServerOpts(t))
	if !strings.Contains(s.logs.String(), "GeoLite2-City built") {
		t.Error("the start log does not describe the GeoIP database")
	}
	ps := startPushService(t)
	a := s.newAccount(t, "geoip-user")
	ph := pairApprover(t, s, ps, a)

	for i, tt := range []struct {
		station, location string
	}{
		{"203.0.113.7", "Berlin, Germany"},
		{"[2001:db8::5]:443", "Amsterdam, Netherlands"},
		{"10.1.2.3", ""},
		{"00-11-22-33-44-55", ""},
	} {
		type payload struct {
			Nonce   string
			Context map[string]any
		}
		got := make(chan payload, 1)
		go func() {
			defer close(got)
			m, ok := ph.next(15 * time.Second)
			if !ok {
				return
			}
			var p payload
			if err := json.Unmarshal(<-ph.raw, &p); err != nil {
				t.Errorf("payload: %v", err)
			}
			if v, err := ph.answer(m.Nonce, "approve"); err != nil || v != "approved" {
				t.Errorf("approving: %q, %v", v, err)
			}
			got <- p
		}()
		r := radclient(t, s.authAddr(t), userAttrs(a.Name, a.Password+",push")+
			fmt.Sprintf(", Calling-Station-Id = %q", tt.station), radclientOpts{MA: true, Timeout: 20 * time.Second})
		p, ok := <-got
		if !ok {
			s.fatalf(t, "no push reached the phone for a login from %s", tt.station)
		}
		s.expectCode(t, r, "Access-Accept")
		if p.Context["calling_station_id"] != tt.station {
			t.Errorf("%s: the payload's context %v", tt.station, p.Context)
		}
		loc, has := p.Context["location"]
		switch {
		case tt.location == "" && has:
			t.Errorf("%s: the payload places the login in %v", tt.station, loc)
		case tt.location != "" && loc != tt.location:
			t.Errorf("%s: the payload's location is %v, want %q", tt.station, loc, tt.location)
		}
		// The push's audit record is written once it is settled.
		var recs []auditRecord
		poll(t, s, "the push's audit record", func() bool {
			recs = s.auditOf(t, "push", a.Name)
			return len(recs) == i+1
		})
		detail := recs[i].Detail
		if tt.location != "" && !strings.Contains(detail, "from "+tt.location) ||
			tt.location == "" && strings.Contains(detail, "; from ") {
			t.Errorf("%s: push audit detail %q", tt.station, detail)
		}
	}
}

// TestPushGeoIPBadDatabase: a GeoIP database that cannot be used stops
// serve and check-config with an error naming push.geoip_database.
func TestPushGeoIPBadDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	asn := filepath.Join(dir, "GeoLite2-ASN.mmdb")
	if err := geoiptest.Write(asn, "GeoLite2-ASN", geoiptest.Places); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "GeoLite2-City.mmdb"), "no such file"},
		{"wrong type", asn, `type "GeoLite2-ASN" holds no locations`},
	} {
		dataDir, err := os.MkdirTemp("", "rmfa-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dataDir) })
		o := pushServerOpts()
		o.Extra += fmt.Sprintf("  geoip_database: %q\n", tt.path)
		cfg := filepath.Join(dir, tt.name+".yaml")
		if err := os.WriteFile(cfg, []byte((&server{opts: o, dataDir: dataDir}).configYAML()), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"check-config", "serve"} {
			r := runBinary(t, "", cmd, "--config", cfg)
			if r.Code == 0 || !strings.Contains(r.Stderr, "push.geoip_database: ") || !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("%s with a %s database: exit %d, stderr:\n%s", cmd, tt.name, r.Code, r.Stderr)
			}
		}
	}
}
