package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"radiusmfa/store"
)

// Client implements API over the admin socket of a running server.
type Client struct{ path string }

var _ API = (*Client)(nil)

// Dial returns a client if a server answers on path.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, err
	}
	c.Close()
	return &Client{path: path}, nil
}

func (c *Client) call(ctx context.Context, req request) (response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return response{}, fmt.Errorf("admin socket %s: %w", c.path, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return response{}, fmt.Errorf("admin socket: %w", err)
	}
	var resp response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return response{}, fmt.Errorf("admin socket: %w", err)
	}
	if resp.Error != nil {
		return resp, fromWire(resp.Error)
	}
	return resp, nil
}

func (c *Client) AddUser(ctx context.Context, name, password string) error {
	_, err := c.call(ctx, request{Method: "AddUser", Name: name, Password: password})
	return err
}

func (c *Client) SetPassword(ctx context.Context, name, password string) error {
	_, err := c.call(ctx, request{Method: "SetPassword", Name: name, Password: password})
	return err
}

func (c *Client) DeleteUser(ctx context.Context, name string) error {
	_, err := c.call(ctx, request{Method: "DeleteUser", Name: name})
	return err
}

func (c *Client) ListUsers(ctx context.Context) ([]UserInfo, error) {
	r, err := c.call(ctx, request{Method: "ListUsers"})
	return r.Users, err
}

func (c *Client) LockUser(ctx context.Context, name string) error {
	_, err := c.call(ctx, request{Method: "LockUser", Name: name})
	return err
}

func (c *Client) UnlockUser(ctx context.Context, name string) error {
	_, err := c.call(ctx, request{Method: "UnlockUser", Name: name})
	return err
}

func (c *Client) EnrollTOTP(ctx context.Context, t TOTPRequest) (TOTPResult, error) {
	r, err := c.call(ctx, request{Method: "EnrollTOTP", TOTP: &t})
	if err != nil || r.TOTP == nil {
		return TOTPResult{}, err
	}
	return *r.TOTP, nil
}

func (c *Client) AddContact(ctx context.Context, user, kind, destination, label string) (string, error) {
	r, err := c.call(ctx, request{Method: "AddContact", Name: user,
		Contact: &wireContact{Kind: kind, Destination: destination, Label: label}})
	if err != nil || r.ID == "" {
		return "", cmp.Or(err, errMissing("id"))
	}
	return r.ID, nil
}

func (c *Client) ListDevices(ctx context.Context, user string) ([]Device, error) {
	r, err := c.call(ctx, request{Method: "ListDevices", Name: user})
	return r.Devices, err
}

func (c *Client) RemoveDevice(ctx context.Context, user, id string) error {
	_, err := c.call(ctx, request{Method: "RemoveDevice", Name: user, ID: id})
	return err
}

func (c *Client) AuditTail(ctx context.Context, n int) ([]store.AuditRecord, error) {
	r, err := c.call(ctx, request{Method: "AuditTail", N: n})
	return r.Audit, err
}

func (c *Client) SetDeviceDisabled(ctx context.Context, user, id string, disabled bool) error {
	_, err := c.call(ctx, request{Method: "SetDeviceDisabled", Name: user, ID: id, Disabled: disabled})
	return err
}

func (c *Client) ResetEnrollment(ctx context.Context, user string) (int, error) {
	r, err := c.call(ctx, request{Method: "ResetEnrollment", Name: user})
	return r.Count, err
}

func (c *Client) IssueBypass(ctx context.Context, b BypassRequest) (BypassResult, error) {
	r, err := c.call(ctx, request{Method: "IssueBypass", Bypass: &b})
	if err != nil || r.Bypass == nil {
		return BypassResult{}, cmp.Or(err, errMissing("bypass"))
	}
	return *r.Bypass, nil
}

func (c *Client) Settings(ctx context.Context) (store.Settings, error) {
	r, err := c.call(ctx, request{Method: "Settings"})
	if err != nil || r.Settings == nil {
		return store.Settings{}, cmp.Or(err, errMissing("settings"))
	}
	return *r.Settings, nil
}

func (c *Client) SetEnforcement(ctx context.Context, e store.Enforcement) error {
	_, err := c.call(ctx, request{Method: "SetEnforcement", Enforcement: &e})
	return err
}

func (c *Client) SetRoles(ctx context.Context, user string, roles []string) error {
	_, err := c.call(ctx, request{Method: "SetRoles", Name: user, Roles: roles})
	return err
}

func (c *Client) UserDetail(ctx context.Context, name string) (UserDetail, error) {
	r, err := c.call(ctx, request{Method: "UserDetail", Name: name})
	if err != nil || r.User == nil {
		return UserDetail{}, cmp.Or(err, errMissing("user"))
	}
	return *r.User, nil
}

// SearchUsers returns the store's matches with the error of a failed
// directory search, as the service does.
func (c *Client) SearchUsers(ctx context.Context, q string) ([]SearchResult, error) {
	r, err := c.call(ctx, request{Method: "SearchUsers", Query: q})
	return r.Search, err
}

func (c *Client) QueryAudit(ctx context.Context, q AuditQuery) ([]store.AuditRecord, error) {
	r, err := c.call(ctx, request{Method: "QueryAudit", AuditQuery: &q})
	return r.Audit, err
}

// errMissing reports a response without the field its call returns (a
// server older than this client answers unknown methods with an error, so
// this is a protocol bug).
func errMissing(field string) error {
	return fmt.Errorf("admin socket: the response has no %s", field)
}
