package geoip

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"radiusmfa/internal/geoip/geoiptest"
)

// openTest writes places as a database of dbType in a temp dir and opens it.
func openTest(t *testing.T, dbType string, places []geoiptest.Place) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.mmdb")
	if err := geoiptest.Write(path, dbType, places); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestLookup(t *testing.T) {
	db, _ := openTest(t, "GeoLite2-City", geoiptest.Places)
	tests := []struct {
		ip   string
		want Location
		ok   bool
	}{
		{"203.0.113.7", Location{Country: "Germany", CountryCode: "DE", City: "Berlin"}, true},
		{"::ffff:203.0.113.7", Location{Country: "Germany", CountryCode: "DE", City: "Berlin"}, true},
		{"2001:db8::1", Location{Country: "Netherlands", CountryCode: "NL", City: "Amsterdam"}, true},
		{"2001:db8:ffff::9", Location{Country: "Netherlands", CountryCode: "NL", City: "Amsterdam"}, true},
		{"198.51.100.20", Location{Country: "France", CountryCode: "FR"}, true}, // no city in the record
		{"192.0.2.1", Location{}, false}, // not in the database
		{"8.8.8.8", Location{}, false},
		{"2a00:1450::1", Location{}, false},
	}
	for _, tt := range tests {
		got, ok := db.Lookup(netip.MustParseAddr(tt.ip))
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", tt.ip, got, ok, tt.want, tt.ok)
		}
	}
	if got, _ := db.Lookup(netip.MustParseAddr("198.51.100.20")); got.String() != "France" {
		t.Errorf("a location without a city reads %q", got.String())
	}
	if d := db.Describe(); !strings.HasPrefix(d, "GeoLite2-City built ") {
		t.Errorf("Describe() = %q", d)
	}
}

// TestNotGlobalSkipped: private, loopback, link-local and other special
// addresses are never looked up, even where the database has a record.
func TestNotGlobalSkipped(t *testing.T) {
	db, _ := openTest(t, "GeoLite2-City", geoiptest.Places)
	for _, s := range []string{
		"10.1.2.3", "192.168.1.10", "172.16.0.1", "fc00::1", "fd12:3456::1", // private (with records)
		"127.0.0.1", "::1", "169.254.1.1", "fe80::1", "0.0.0.0", "::", "0.1.2.3",
		"100.64.0.1", "100.127.255.254", "192.0.0.9", "198.18.0.1", "240.0.0.1", "255.255.255.255",
		"224.0.0.1", "ff02::1", "100::1", "64:ff9b:1::1", "fec0::1", "::ffff:10.0.0.1",
	} {
		ip := netip.MustParseAddr(s)
		if IsGlobal(ip) {
			t.Errorf("IsGlobal(%s) = true", s)
		}
		if loc, ok := db.Lookup(ip); ok || loc != (Location{}) {
			t.Errorf("Lookup(%s) = %+v, %v; want nothing", s, loc, ok)
		}
	}
	for _, s := range []string{"203.0.113.7", "2001:db8::1", "8.8.8.8", "2a00:1450::1", "100.128.0.1", "11.0.0.1"} {
		if !IsGlobal(netip.MustParseAddr(s)) {
			t.Errorf("IsGlobal(%s) = false", s)
		}
	}
}

var stationIDs = []struct {
	in   string
	want string // "" for none
}{
	{"203.0.113.7", "203.0.113.7"},
	{" 203.0.113.7\t", "203.0.113.7"},
	{"203.0.113.7:51234", "203.0.113.7"},
	{"2001:db8::1", "2001:db8::1"},
	{"[2001:db8::1]:443", "2001:db8::1"},
	{"[2001:db8::1]", "2001:db8::1"},
	{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	{"::ffff:203.0.113.7", "203.0.113.7"},
	{"[::ffff:203.0.113.7]:1", "203.0.113.7"},
	{"fe80::1%eth0", "fe80::1"},
	{"", ""},
	{"00-11-22-33-44-55", ""}, // MAC addresses, as Wi-Fi and 802.1X NASes send
	{"00:11:22:33:44:55", ""},
	{"0011.2233.4455", ""},
	{"001122334455", ""},
	{"+4930123456", ""}, // a telephone number (dial-up)
	{"203.0.113", ""},
	{"203.0.113.256", ""},
	{"203.0.113.7:", ""},
	{"203.0.113.7:port", ""},
	{"203.0.113.7:70000", ""},
	{"2001:db8::1:443:1:2:3:4:5", ""},
	{"[203.0.113.7]", ""},
	{"[2001:db8::1", ""},
	{"host.example.com", ""},
	{"203.0.113.7, 10.0.0.1", ""},
	{strings.Repeat("1", 200), ""},
}

func TestParseCallingStationID(t *testing.T) {
	for _, tt := range stationIDs {
		ip, ok := ParseCallingStationID(tt.in)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != tt.want {
			t.Errorf("ParseCallingStationID(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzParseCallingStationID(f *testing.F) {
	for _, tt := range stationIDs {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := ParseCallingStationID(s)
		if !ok {
			if ip.IsValid() {
				t.Fatalf("%q: not ok, yet address %s", s, ip)
			}
			return
		}
		if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
			t.Fatalf("%q: address %s is not plain", s, ip)
		}
	})
}

func TestLocate(t *testing.T) {
	db, _ := openTest(t, "GeoLite2-City", geoiptest.Places)
	for in, want := range map[string]string{
		"203.0.113.7":       "Berlin, Germany",
		"203.0.113.7:51234": "Berlin, Germany",
		"[2001:db8::1]:443": "Amsterdam, Netherlands",
		"198.51.100.1":      "France",
		"10.0.0.1":          "",
		"00:11:22:33:44:55": "",
		"":                  "",
	} {
		if got := db.Locate(in); got != want {
			t.Errorf("Locate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLocationString(t *testing.T) {
	for _, tt := range []struct {
		l    Location
		want string
	}{
		{Location{City: "Berlin", Country: "Germany", CountryCode: "DE"}, "Berlin, Germany"},
		{Location{Country: "Germany", CountryCode: "DE"}, "Germany"},
		{Location{City: "Berlin", CountryCode: "DE"}, "Berlin, DE"},
		{Location{CountryCode: "DE"}, "DE"},
		{Location{City: "Berlin"}, "Berlin"},
		{Location{}, ""},
	} {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.l, got, tt.want)
		}
	}
}

// TestCountryDatabase: a Country database places the country alone.
func TestCountryDatabase(t *testing.T) {
	var places []geoiptest.Place
	for _, p := range geoiptest.Places {
		p.City = ""
		places = append(places, p)
	}
	db, _ := openTest(t, "GeoLite2-Country", places)
	if got := db.Locate("203.0.113.7"); got != "Germany" {
		t.Errorf("Locate in a Country database = %q, want Germany", got)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	asn := filepath.Join(dir, "asn.mmdb")
	if err := geoiptest.Write(asn, "GeoLite2-ASN", geoiptest.Places); err != nil {
		t.Fatal(err)
	}
	city := filepath.Join(dir, "city.mmdb")
	if err := geoiptest.Write(city, "GeoLite2-City", geoiptest.Places); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(city)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"wrong type", asn, `type "GeoLite2-ASN" holds no locations`},
		{"missing", filepath.Join(dir, "GeoLite2-City.mmdb"), "no such file"},
		{"empty", write("empty.mmdb", nil), "is empty"},
		{"garbage", write("garbage.mmdb", []byte(strings.Repeat("not a MaxMind DB file\n", 100))), "garbage.mmdb"},
		{"truncated", write("truncated.mmdb", whole[:len(whole)/2]), "truncated.mmdb"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		db, err := Open(tt.path)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.want)
		}
	}
	if _, err := Open(filepath.Join(dir, "nope.mmdb")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestReload: a new file renamed over the old one is read; one that cannot
// be used is reported once and the one in use kept.
func TestReload(t *testing.T) {
	db, path := openTest(t, "GeoLite2-City", geoiptest.Places)
	mustReload := func(want bool, wantErr string) {
		t.Helper()
		got, err := db.Reload()
		if got != want || (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Fatalf("Reload() = %v, %v; want %v, %q", got, err, want, wantErr)
		}
	}
	mustReload(false, "") // unchanged

	munich := []geoiptest.Place{{Network: "203.0.113.0/24", City: "Munich", Country: "Germany", CountryCode: "DE"}}
	if err := geoiptest.Write(path, "GeoLite2-City", munich); err != nil {
		t.Fatal(err)
	}
	mustReload(true, "")
	if got := db.Locate("203.0.113.7"); got != "Munich, Germany" {
		t.Fatalf("after the reload: %q", got)
	}
	mustReload(false, "")

	if err := geoiptest.Write(path, "GeoLite2-ASN", munich); err != nil {
		t.Fatal(err)
	}
	mustReload(false, "holds no locations")
	mustReload(false, "") // reported once
	if got := db.Locate("203.0.113.7"); got != "Munich, Germany" {
		t.Fatalf("a refused file replaced the database in use: %q", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	mustReload(false, "no such file")
	mustReload(false, "")
	if err := geoiptest.Write(path, "GeoLite2-City", geoiptest.Places); err != nil {
		t.Fatal(err)
	}
	mustReload(true, "")
	if got := db.Locate("203.0.113.7"); got != "Berlin, Germany" {
		t.Fatalf("after the file came back: %q", got)
	}
}

// TestReloadUnderLoad: lookups go on while the file is replaced (run with
// -race).
func TestReloadUnderLoad(t *testing.T) {
	db, path := openTest(t, "GeoLite2-City", geoiptest.Places)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := db.Locate("203.0.113.7"); got != "Berlin, Germany" {
					t.Errorf("Locate during reloads = %q", got)
					return
				}
			}
		})
	}
	for range 20 {
		if err := geoiptest.Write(path, "GeoLite2-City", geoiptest.Places); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.Reload(); !ok || err != nil {
			t.Fatalf("Reload() = %v, %v", ok, err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestWatch(t *testing.T) {
	db, path := openTest(t, "GeoLite2-City", geoiptest.Places)
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan error, 4)
	done := make(chan struct{})
	go func() {
		db.Watch(ctx, 10*time.Millisecond, func(err error) { reports <- err })
		close(done)
	}()
	if err := geoiptest.Write(path, "GeoLite2-Country", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-reports:
		if err != nil {
			t.Fatalf("Watch reported %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not pick up the new file")
	}
	if got := db.Locate("203.0.113.7"); got != "" {
		t.Errorf("the new, empty database still places 203.0.113.7 in %q", got)
	}
	cancel()
	<-done
}

// TestInvariantLocateNeverFails: whatever the input and the database's
// state, Locate answers, at worst with "".
func TestInvariantLocateNeverFails(t *testing.T) {
	db, _ := openTest(t, "GeoLite2-City", geoiptest.Places)
	for _, tt := range stationIDs {
		db.Locate(tt.in)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := db.Locate("203.0.113.7"); got != "" {
		t.Errorf("a closed database placed 203.0.113.7 in %q", got)
	}
	if _, err := db.Reload(); err == nil {
		t.Error("Reload on a closed database succeeded")
	}
	if err := db.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if got := db.Describe(); got != "closed" {
		t.Errorf("Describe() after Close = %q", got)
	}
}
