package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"radiusmfa/store"
)

// serveSocket serves api on a fresh socket for the test and returns a client.
func serveSocket(t *testing.T, api API) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := ListenSocket(path, api, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// operate runs the help-desk and admin calls through any API as the local
// admin, so the service and the socket client are held to one behaviour.
func operate(t *testing.T, api API, c *console) {
	ctx := context.Background()
	if err := api.SetDeviceDisabled(ctx, "alice", c.totpID, true); err != nil {
		t.Fatal(err)
	}
	if d, _ := api.ListDevices(ctx, "alice"); len(d) != 1 || !d[0].Disabled {
		t.Fatalf("after disable: %+v", d)
	}
	if err := api.SetDeviceDisabled(ctx, "alice", c.totpID, false); err != nil {
		t.Fatal(err)
	}
	if d, _ := api.ListDevices(ctx, "alice"); d[0].Disabled {
		t.Fatalf("after enable: %+v", d)
	}
	if err := api.SetDeviceDisabled(ctx, "alice", "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}

	by, err := api.IssueBypass(ctx, BypassRequest{User: "alice", Uses: 2, TTL: 2 * time.Hour})
	if err != nil || !eightDigits.MatchString(by.Code) || by.Uses != 2 || by.ID == "" ||
		!by.ExpiresAt.Equal(c.clk.Now().Add(2*time.Hour)) {
		t.Fatalf("bypass %+v, %v", by, err)
	}
	if _, err := api.IssueBypass(ctx, BypassRequest{User: "alice", Uses: 101}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("101 uses: %v", err)
	}

	d, err := api.UserDetail(ctx, " Alice")
	if err != nil || d.Name != "alice" || len(d.DeviceList) != 2 || len(d.RecentAudit) == 0 || len(d.Roles) != 0 {
		t.Fatalf("detail %+v, %v", d, err)
	}
	if _, err := api.UserDetail(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if res, err := api.SearchUsers(ctx, "ali"); err != nil || len(res) != 1 || res[0].Name != "alice" || res[0].Devices != 2 {
		t.Fatalf("search %+v, %v", res, err)
	}
	if _, err := api.SearchUsers(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty search: %v", err)
	}

	if s, err := api.Settings(ctx); err != nil || !reflect.DeepEqual(s, store.Settings{}) {
		t.Fatalf("initial settings %+v, %v", s, err)
	}
	want := store.Enforcement{Mode: "optional", Groups: map[string]string{"vpn": "required"}, Methods: []string{"totp"}}
	if err := api.SetEnforcement(ctx, want); err != nil {
		t.Fatal(err)
	}
	if s, err := api.Settings(ctx); err != nil || !reflect.DeepEqual(s.Enforcement, want) || s.UpdatedBy == "" {
		t.Fatalf("settings %+v, %v", s, err)
	}
	if err := api.SetEnforcement(ctx, store.Enforcement{Mode: "strict"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad mode: %v", err)
	}

	if err := api.SetRoles(ctx, "alice", []string{RoleHelpdesk}); err != nil {
		t.Fatal(err)
	}
	if d, _ := api.UserDetail(ctx, "alice"); strings.Join(d.Roles, ",") != RoleHelpdesk {
		t.Fatalf("roles %v", d.Roles)
	}
	if err := api.SetRoles(ctx, "alice", []string{"root"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}
	recs, err := api.QueryAudit(ctx, AuditQuery{User: "alice", Kind: "admin", Limit: 2})
	if err != nil || len(recs) != 2 || recs[0].Detail != "user.roles helpdesk" || !strings.HasPrefix(recs[1].Detail, "bypass.issue ") {
		t.Fatalf("audit %+v, %v", recs, err)
	}
	if _, err := api.QueryAudit(ctx, AuditQuery{Limit: 10001}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit 10001: %v", err)
	}

	id, err := api.AddContact(ctx, "alice", "sms", "+1 650 253 0000", "desk")
	if err != nil || id == "" {
		t.Fatalf("add a phone: %q, %v", id, err)
	}
	if d, _ := api.ListDevices(ctx, "alice"); len(d) != 3 || !slices.ContainsFunc(d, func(d Device) bool { return d.ID == id && d.To == "•••-•••-0000" }) {
		t.Fatalf("devices after adding a phone: %+v", d)
	}
	if _, err := api.AddContact(ctx, "alice", "sms", "+16502530000", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("the same phone again: %v", err)
	}
	if n, err := api.ResetEnrollment(ctx, "alice"); err != nil || n != 3 {
		t.Fatalf("reset: %d, %v", n, err)
	}
	if _, err := api.ResetEnrollment(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset of an unknown user: %v", err)
	}
}

func TestServiceOperatorCalls(t *testing.T) {
	c := newConsole(t, func(o *Options) { o.Actor = "cli uid=0" })
	operate(t, c.svc, c)
	if r := c.lastAdmin(t); r.Client != "cli uid=0" {
		t.Fatalf("audited as %q", r.Client)
	}
}

func TestSocketOperatorCalls(t *testing.T) {
	c := newConsole(t, nil)
	operate(t, serveSocket(t, c.svc), c)
	if r, want := c.lastAdmin(t), fmt.Sprintf("admin-socket uid=%d pid=%d", os.Getuid(), os.Getpid()); r.Client != want {
		t.Fatalf("audited as %q, want %q", r.Client, want)
	}
}

// forbidding refuses the settings; every other call panics (nil API).
type forbidding struct{ API }

func (forbidding) Settings(context.Context) (store.Settings, error) {
	return store.Settings{}, fmt.Errorf("%w: hd may not do this", ErrForbidden)
}

func TestSocketErrorKinds(t *testing.T) {
	cl := serveSocket(t, forbidding{})
	_, err := cl.Settings(context.Background())
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "hd may not do this") {
		t.Fatalf("forbidden over the socket: %v", err)
	}
	if _, err := cl.call(context.Background(), request{Method: "Frobnicate"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown method: %v", err)
	}
	for _, m := range []string{"IssueBypass", "SetEnforcement", "QueryAudit"} {
		if _, err := cl.call(context.Background(), request{Method: m}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s without its argument: %v", m, err)
		}
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrExists, ErrInvalid, ErrForbidden} {
		back := fromWire(toWire(fmt.Errorf("wrapped: %w", sentinel)))
		if !errors.Is(back, sentinel) {
			t.Errorf("%v did not survive the wire: %v", sentinel, back)
		}
	}
	if back := fromWire(toWire(errors.New("disk on fire"))); errors.Is(back, ErrInvalid) || back.Error() != "disk on fire" {
		t.Errorf("an internal error came back as %v", back)
	}
}

// A search whose directory part fails still returns the store's matches,
// over the socket as in process.
func TestSocketSearchKeepsStoreResults(t *testing.T) {
	c := newConsole(t, func(o *Options) {
		o.SearchDirectory = func(context.Context, string, int) ([]DirectoryUser, error) {
			return nil, errors.New("ldap: server down")
		}
	})
	res, err := serveSocket(t, c.svc).SearchUsers(context.Background(), "ali")
	if err == nil || !strings.Contains(err.Error(), "server down") || len(res) != 1 || res[0].Name != "alice" {
		t.Fatalf("got %+v, %v", res, err)
	}
}
