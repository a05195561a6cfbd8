package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"radiusmfa/store"
)

// The wire format is one JSON request and one JSON response per connection.
type request struct {
	Method      string             `json:"method"`
	Name        string             `json:"name,omitempty"`
	Password    string             `json:"password,omitempty"`
	ID          string             `json:"id,omitempty"`
	N           int                `json:"n,omitempty"`
	Disabled    bool               `json:"disabled,omitempty"`
	Roles       []string           `json:"roles,omitempty"`
	Query       string             `json:"query,omitempty"`
	TOTP        *TOTPRequest       `json:"totp,omitempty"`
	Bypass      *BypassRequest     `json:"bypass,omitempty"`
	Enforcement *store.Enforcement `json:"enforcement,omitempty"`
	AuditQuery  *AuditQuery        `json:"audit_query,omitempty"`
	Contact     *wireContact       `json:"contact,omitempty"`
}

// wireContact is the phone or address of an AddContact.
type wireContact struct {
	Kind        string `json:"kind"`
	Destination string `json:"destination"`
	Label       string `json:"label,omitempty"`
}

// A response carries an error beside what a call returned with it (the
// store's matches of a search whose directory part failed).
type response struct {
	Error    *wireError          `json:"error,omitempty"`
	Users    []UserInfo          `json:"users,omitempty"`
	Devices  []Device            `json:"devices,omitempty"`
	TOTP     *TOTPResult         `json:"totp,omitempty"`
	Audit    []store.AuditRecord `json:"audit,omitempty"`
	Count    int                 `json:"count,omitempty"`
	Bypass   *BypassResult       `json:"bypass,omitempty"`
	Settings *store.Settings     `json:"settings,omitempty"`
	User     *UserDetail         `json:"user,omitempty"`
	Search   []SearchResult      `json:"search,omitempty"`
	ID       string              `json:"id,omitempty"` // of a device added
}

type wireError struct {
	Kind    string `json:"kind"` // not_found, exists, invalid, forbidden, internal
	Message string `json:"message"`
}

const maxRequest = 64 << 10

// SocketServer serves API on a unix socket readable only by its owner.
type SocketServer struct {
	ln   net.Listener
	api  API
	log  *slog.Logger
	wg   sync.WaitGroup
	path string
}

// ListenSocket creates the socket at path (mode 0600). A stale socket left
// by a crashed server is replaced; a live one is an error.
func ListenSocket(path string, api API, log *slog.Logger) (*SocketServer, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s: another server is already running", path)
	}
	// Replace only a stale socket: never delete another kind of file that a
	// mistaken path points at (the master key, the database).
	switch fi, err := os.Lstat(path); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	case fi.Mode()&fs.ModeSocket == 0:
		return nil, fmt.Errorf("admin socket %s: the path exists and is not a socket; refusing to replace it", path)
	default:
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: %w", path, err)
		}
	}
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return &SocketServer{ln: ln, api: api, log: log, path: path}, nil
}

// Serve accepts connections until Close.
func (s *SocketServer) Serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// Close stops accepting, waits for running requests and removes the socket.
func (s *SocketServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// peer returns the connecting process's credentials, and whether it is
// admitted: root and the server's own user. The file mode already says so;
// this holds even if the mode is loosened by hand.
func peer(c net.Conn) (*unix.Ucred, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return nil, false
	}
	return cred, cred.Uid == 0 || int(cred.Uid) == os.Getuid()
}

func (s *SocketServer) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	enc := json.NewEncoder(c)
	cred, ok := peer(c)
	if !ok {
		_ = enc.Encode(response{Error: &wireError{Kind: "forbidden", Message: "permission denied"}})
		return
	}
	var req request
	if err := json.NewDecoder(io.LimitReader(c, maxRequest)).Decode(&req); err != nil {
		_ = enc.Encode(response{Error: &wireError{Kind: "invalid", Message: "malformed request"}})
		return
	}
	ctx, cancel := context.WithTimeout(WithActor(context.Background(),
		fmt.Sprintf("admin-socket uid=%d pid=%d", cred.Uid, cred.Pid)), 25*time.Second)
	defer cancel()
	resp := dispatch(ctx, s.api, req)
	if resp.Error != nil && resp.Error.Kind == "internal" {
		s.log.Error("admin request failed", "method", req.Method, "err", resp.Error.Message)
	}
	_ = enc.Encode(resp)
}

func dispatch(ctx context.Context, api API, r request) response {
	var resp response
	var err error
	switch r.Method {
	case "AddUser":
		err = api.AddUser(ctx, r.Name, r.Password)
	case "SetPassword":
		err = api.SetPassword(ctx, r.Name, r.Password)
	case "DeleteUser":
		err = api.DeleteUser(ctx, r.Name)
	case "ListUsers":
		resp.Users, err = api.ListUsers(ctx)
	case "LockUser":
		err = api.LockUser(ctx, r.Name)
	case "UnlockUser":
		err = api.UnlockUser(ctx, r.Name)
	case "EnrollTOTP":
		if r.TOTP == nil {
			err = fmt.Errorf("%w: missing totp", ErrInvalid)
			break
		}
		var res TOTPResult
		res, err = api.EnrollTOTP(ctx, *r.TOTP)
		resp.TOTP = &res
	case "AddContact":
		if r.Contact == nil {
			err = fmt.Errorf("%w: missing contact", ErrInvalid)
			break
		}
		resp.ID, err = api.AddContact(ctx, r.Name, r.Contact.Kind, r.Contact.Destination, r.Contact.Label)
	case "ListDevices":
		resp.Devices, err = api.ListDevices(ctx, r.Name)
	case "RemoveDevice":
		err = api.RemoveDevice(ctx, r.Name, r.ID)
	case "AuditTail":
		resp.Audit, err = api.AuditTail(ctx, r.N)
	default:
		resp, err = dispatchOperator(ctx, api, r)
	}
	if err != nil {
		resp.Error = toWire(err)
	}
	return resp
}

// dispatchOperator serves the help-desk and admin operations.
func dispatchOperator(ctx context.Context, api API, r request) (response, error) {
	var resp response
	var err error
	switch r.Method {
	case "SetDeviceDisabled":
		err = api.SetDeviceDisabled(ctx, r.Name, r.ID, r.Disabled)
	case "ResetEnrollment":
		resp.Count, err = api.ResetEnrollment(ctx, r.Name)
	case "IssueBypass":
		if r.Bypass == nil {
			return resp, fmt.Errorf("%w: missing bypass", ErrInvalid)
		}
		var res BypassResult
		if res, err = api.IssueBypass(ctx, *r.Bypass); err == nil {
			resp.Bypass = &res
		}
	case "Settings":
		var st store.Settings
		if st, err = api.Settings(ctx); err == nil {
			resp.Settings = &st
		}
	case "SetEnforcement":
		if r.Enforcement == nil {
			return resp, fmt.Errorf("%w: missing enforcement", ErrInvalid)
		}
		err = api.SetEnforcement(ctx, *r.Enforcement)
	case "SetRoles":
		err = api.SetRoles(ctx, r.Name, r.Roles)
	case "UserDetail":
		var d UserDetail
		if d, err = api.UserDetail(ctx, r.Name); err == nil {
			resp.User = &d
		}
	case "SearchUsers":
		resp.Search, err = api.SearchUsers(ctx, r.Query)
	case "QueryAudit":
		if r.AuditQuery == nil {
			return resp, fmt.Errorf("%w: missing audit_query", ErrInvalid)
		}
		resp.Audit, err = api.QueryAudit(ctx, *r.AuditQuery)
	default:
		err = fmt.Errorf("%w: unknown method %q", ErrInvalid, r.Method)
	}
	return resp, err
}

func toWire(err error) *wireError {
	kind := "internal"
	switch {
	case errors.Is(err, store.ErrNotFound):
		kind = "not_found"
	case errors.Is(err, store.ErrExists):
		kind = "exists"
	case errors.Is(err, ErrInvalid):
		kind = "invalid"
	case errors.Is(err, ErrForbidden):
		kind = "forbidden"
	}
	return &wireError{Kind: kind, Message: err.Error()}
}

// remoteError keeps the sentinel of a wire error so errors.Is works on the
// client side as it does in process.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

func fromWire(w *wireError) error {
	var kind error
	switch w.Kind {
	case "not_found":
		kind = store.ErrNotFound
	case "exists":
		kind = store.ErrExists
	case "invalid":
		kind = ErrInvalid
	case "forbidden":
		kind = ErrForbidden
	}
	return &remoteError{msg: w.Message, kind: kind}
}
