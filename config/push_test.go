package config

import (
	"strings"
	"testing"
)

// TestPushAllowLoopbackHTTPEndpoints: the test-only switch is off unless
// set, in the file or the environment, and takes only a boolean.
func TestPushAllowLoopbackHTTPEndpoints(t *testing.T) {
	cfg, _ := mustLoad(t, oneClient)
	if cfg.Push.AllowLoopbackHTTPEndpoints {
		t.Error("allow_loopback_http_endpoints is on by default")
	}
	cfg, _ = mustLoad(t, oneClient+"push:\n  allow_loopback_http_endpoints: true\n")
	if !cfg.Push.AllowLoopbackHTTPEndpoints {
		t.Error("push.allow_loopback_http_endpoints: true in the file left it off")
	}
	cfg, _ = mustLoad(t, oneClient, "RADIUSMFA_PUSH_ALLOW_LOOPBACK_HTTP_ENDPOINTS=true")
	if !cfg.Push.AllowLoopbackHTTPEndpoints {
		t.Error("RADIUSMFA_PUSH_ALLOW_LOOPBACK_HTTP_ENDPOINTS=true left it off")
	}
	_, _, err := loadString(t, oneClient+"push:\n  allow_loopback_http_endpoints: 127.0.0.1\n")
	wantErr(t, err, "push.allow_loopback_http_endpoints")
}

// TestPushGeoIPDatabase: off unless set, in the file or the environment;
// the file itself is read by serve and check-config, not by Load, so
// commands that never push do not need it.
func TestPushGeoIPDatabase(t *testing.T) {
	cfg, warnings := mustLoad(t, oneClient)
	if cfg.Push.GeoIPDatabase != "" || len(warnings) != 0 {
		t.Errorf("geoip_database = %q by default, warnings %q", cfg.Push.GeoIPDatabase, warnings)
	}
	cfg, warnings = mustLoad(t, oneClient+"push:\n  geoip_database: /nonexistent/GeoLite2-City.mmdb\n")
	if cfg.Push.GeoIPDatabase != "/nonexistent/GeoLite2-City.mmdb" || len(warnings) != 0 {
		t.Errorf("geoip_database = %q, warnings %q", cfg.Push.GeoIPDatabase, warnings)
	}
	cfg, _ = mustLoad(t, oneClient, "RADIUSMFA_PUSH_GEOIP_DATABASE=/var/lib/GeoIP/GeoLite2-Country.mmdb")
	if cfg.Push.GeoIPDatabase != "/var/lib/GeoIP/GeoLite2-Country.mmdb" {
		t.Errorf("RADIUSMFA_PUSH_GEOIP_DATABASE gave %q", cfg.Push.GeoIPDatabase)
	}
	for _, off := range []string{"push:\n  enabled: false\n  geoip_database: a.mmdb\n", "web:\n  listen: \"\"\npush:\n  geoip_database: a.mmdb\n"} {
		_, warnings = mustLoad(t, oneClient+off)
		if len(warnings) != 1 || !strings.Contains(warnings[0], "push.geoip_database: unused while push is off") {
			t.Errorf("%q: warnings %q, want one about push.geoip_database", off, warnings)
		}
	}
	_, _, err := loadString(t, oneClient+"push:\n  geoip_database: [a, b]\n")
	wantErr(t, err, "push.geoip_database")
}
