package config

import "testing"

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
