package main

import (
	"path/filepath"
	"strings"
	"testing"

	"radiusmfa/config"
	"radiusmfa/internal/geoip/geoiptest"
)

// TestOpenGeoIP: the database is opened only while push runs, and an error
// names the key.
func TestOpenGeoIP(t *testing.T) {
	dir := t.TempDir()
	city := filepath.Join(dir, "GeoLite2-City.mmdb")
	if err := geoiptest.Write(city, "GeoLite2-City", geoiptest.Places); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Push.GeoIPDatabase = city
	db, err := openGeoIP(cfg)
	if err != nil || db == nil {
		t.Fatalf("openGeoIP: %v, %v", db, err)
	}
	defer db.Close()
	if got := db.Locate("203.0.113.7"); got != "Berlin, Germany" {
		t.Errorf("Locate = %q", got)
	}

	cfg.Push.GeoIPDatabase = filepath.Join(dir, "missing.mmdb")
	if _, err := openGeoIP(cfg); err == nil || !strings.HasPrefix(err.Error(), "push.geoip_database: ") {
		t.Errorf("a missing file: %v, want an error naming push.geoip_database", err)
	}
	for _, off := range []func(*config.Config){
		func(c *config.Config) { c.Push.Enabled = false },
		func(c *config.Config) { c.Web.Listen = "" },
		func(c *config.Config) { c.Push.GeoIPDatabase = "" },
	} {
		c := config.Default()
		c.Push.GeoIPDatabase = filepath.Join(dir, "missing.mmdb")
		off(c)
		if db, err := openGeoIP(c); db != nil || err != nil {
			t.Errorf("push off or no file: %v, %v; want nothing opened", db, err)
		}
	}
}
