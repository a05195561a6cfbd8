package enrollment

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"radiusmfa/admin"
	"radiusmfa/factors"
	"radiusmfa/store"
)

type apiMeResponse struct {
	User    string         `json:"user"`
	Role    string         `json:"role"`
	Scope   string         `json:"scope"`
	Devices []admin.Device `json:"devices"`
}

func (p *pages) apiMe(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), s.user)
	if errors.Is(err, store.ErrNotFound) {
		// A directory user with no record yet: no device either.
		err = nil
	}
	if err != nil {
		return nil, err
	}
	scope := "user"
	if s.scope != ScopeUser {
		scope = "enroll"
	}
	return apiMeResponse{User: s.user, Role: principal(s).Role, Scope: scope, Devices: apiList(devs)}, nil
}

func (p *pages) apiDevices(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return map[string][]admin.Device{"devices": apiList(devs)}, nil
}

// apiDevicePatch is the body of PATCH …/devices/{id}: the fields to change.
type apiDevicePatch struct {
	Label     *string `json:"label"`
	Disabled  *bool   `json:"disabled"`
	Preferred *bool   `json:"preferred"`
}

// apiPatchDevice applies the changes in a fixed order (disabled, label,
// preferred), stopping at the first refused one, and answers the device.
func (p *pages) apiPatchDevice(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var b apiDevicePatch
	if err := readJSON(w, r, &b, false); err != nil {
		return nil, err
	}
	switch {
	case b.Label == nil && b.Disabled == nil && b.Preferred == nil:
		return nil, apiInvalid("nothing to change: send label, disabled or preferred")
	case b.Preferred != nil && !*b.Preferred:
		return nil, apiInvalid("preferred can only be set to true (prefer another device instead)")
	}
	ctx, svc, name, id := as(r, s), p.deps.Admin, r.PathValue("name"), r.PathValue("id")
	if b.Disabled != nil {
		if err := svc.SetDeviceDisabled(ctx, name, id, *b.Disabled); err != nil {
			return nil, err
		}
	}
	if b.Label != nil {
		if err := svc.RenameDevice(ctx, name, id, *b.Label); err != nil {
			return nil, err
		}
	}
	if b.Preferred != nil {
		if err := svc.SetPreferred(ctx, name, id); err != nil {
			return nil, err
		}
	}
	return p.apiDevice(r, s, name, id)
}

// apiDevice reads one device of a user.
func (p *pages) apiDevice(r *http.Request, s session, name, id string) (admin.Device, error) {
	devs, err := p.deps.Admin.ListDevices(as(r, s), name)
	if err != nil {
		return admin.Device{}, err
	}
	i := slices.IndexFunc(devs, func(d admin.Device) bool { return d.ID == id })
	if i < 0 {
		return admin.Device{}, fmt.Errorf("%w: device %q", store.ErrNotFound, id)
	}
	return devs[i], nil
}

// apiMsgNeedProof refuses a user's removal of their own device.
const apiMsgNeedProof = "a current code from another device or a backup code is required"

// apiDeleteDevice removes a device. Staff may remove any; a user removing
// their own proves first, with a current code of another device or a
// backup code, that the account is theirs: a stolen session alone cannot
// strip it of its factors.
func (p *pages) apiDeleteDevice(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var b struct {
		Code string `json:"code"`
	}
	if err := readJSON(w, r, &b, true); err != nil {
		return nil, err
	}
	ctx, svc, name, id := as(r, s), p.deps.Admin, r.PathValue("name"), r.PathValue("id")
	if !principal(s).Staff() {
		// The device must exist before a code is spent on removing it.
		if _, err := p.apiDevice(r, s, name, id); err != nil {
			return nil, err
		}
		if b.Code != "" && !p.limit.allow(apiSource(r)) {
			return nil, &apiError{http.StatusTooManyRequests, apiCodeRateLimited, "too many attempts from your address: wait a minute"}
		}
		switch err := svc.ProveFactor(ctx, name, proofCode(b.Code), id); {
		case errors.Is(err, factors.ErrInvalidCode):
			p.log.Info("enrollment: api: device removal refused without a valid code", slog.String("user", s.user), slog.String("device", id))
			return nil, &apiError{http.StatusForbidden, apiCodeForbidden, apiMsgNeedProof}
		case err != nil:
			return nil, err
		}
	}
	if err := svc.RemoveDevice(ctx, name, id); err != nil {
		return nil, err
	}
	if !principal(s).Staff() || strings.EqualFold(name, s.user) {
		// As on the account page: other sessions may have been signed
		// in with the removed device.
		p.endOtherSessions(r, s)
	}
	return nil, nil
}

// apiSource is the client's address, as the sign-in's rate limit keys it.
func apiSource(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr()
}

// apiBackupCodes makes a new set of backup codes. From a session signed
// in more than 5 minutes ago it asks, as the account page does, for a
// current code of a device (or a backup code of the old set) in "code".
func (p *pages) apiBackupCodes(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	var b struct {
		Code string `json:"code"`
	}
	if err := readJSON(w, r, &b, true); err != nil {
		return nil, err
	}
	ctx := as(r, s)
	if p.needProof(s) {
		if !p.limit.allow(apiSource(r)) {
			return nil, &apiError{http.StatusTooManyRequests, apiCodeRateLimited, "too many attempts from your address: wait a minute"}
		}
		switch err := p.deps.Admin.ProveFactor(ctx, r.PathValue("name"), proofCode(b.Code), ""); {
		case errors.Is(err, factors.ErrInvalidCode):
			return nil, &apiError{http.StatusForbidden, apiCodeForbidden, apiMsgNeedProofFresh}
		case err != nil:
			return nil, err
		}
	}
	codes, err := p.deps.Admin.NewBackupCodes(ctx, r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	p.endOtherSessions(r, s) // some may have signed in with a code of the old set
	return map[string][]string{"codes": codes}, nil
}

// apiMsgNeedProofFresh refuses new backup codes from a session signed in a
// while ago without a fresh code.
const apiMsgNeedProofFresh = "this session signed in more than 5 minutes ago: send a current code of a device, or a backup code, in \"code\""

func (p *pages) apiLogins(_ http.ResponseWriter, r *http.Request, s session) (any, error) {
	q, err := apiQuery(r, "limit")
	if err != nil {
		return nil, err
	}
	n, err := apiInt(q, "limit", 20, 1, 1000)
	if err != nil {
		return nil, err
	}
	recs, err := p.deps.Admin.MyLogins(as(r, s), r.PathValue("name"), n)
	if err != nil {
		return nil, err
	}
	return map[string][]store.AuditRecord{"logins": apiList(recs)}, nil
}

func (p *pages) apiReportLogin(w http.ResponseWriter, r *http.Request, s session) (any, error) {
	if err := readJSON(w, r, &struct{}{}, true); err != nil {
		return nil, err
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		return nil, apiInvalid("a login is named by its seq, a whole number")
	}
	return nil, p.deps.Admin.ReportLogin(as(r, s), r.PathValue("name"), seq)
}
