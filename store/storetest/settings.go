package storetest

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"radiusmfa/store"
)

// fullSettings sets every field of store.Settings.
func fullSettings() store.Settings {
	return store.Settings{
		Enforcement: store.Enforcement{
			Mode:     "optional",
			Groups:   map[string]string{"vpn-admins": "required", "contractors": "off", "Ünïcode": "optional"},
			Clients:  map[string]string{"firewall": "required"},
			Deadline: base.Add(30 * 24 * time.Hour),
			Methods:  []string{"totp", "backup"},
		},
		UpdatedAt: base,
		UpdatedBy: "admin",
	}
}

func settingsOf(t *testing.T, s store.Store) store.Settings {
	t.Helper()
	got, err := s.Settings(t.Context())
	wantErr(t, "Settings", err, nil)
	return got
}

func testSettingsZero(t *testing.T, s store.Store) {
	if got := settingsOf(t, s); !equalSettings(got, store.Settings{}) {
		t.Errorf("Settings of a new store = %+v, want the zero value", got)
	}
}

// testSettingsRoundTrip stores every field, reads it back, and has a second
// update start from what the first stored: it changes some fields and clears
// others.
func testSettingsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := fullSettings()
	err := s.UpdateSettings(ctx, func(st *store.Settings) error {
		if !equalSettings(*st, store.Settings{}) {
			t.Errorf("first UpdateSettings: fn got %+v, want the zero value", *st)
		}
		*st = fullSettings()
		return nil
	})
	wantErr(t, "UpdateSettings", err, nil)
	if got := settingsOf(t, s); !equalSettings(got, want) {
		t.Errorf("Settings = %+v\nwant %+v", got, want)
	}

	err = s.UpdateSettings(ctx, func(st *store.Settings) error {
		if !equalSettings(*st, want) {
			t.Errorf("second UpdateSettings: fn got %+v\nwant %+v", *st, want)
		}
		st.Enforcement.Mode = "required"
		delete(st.Enforcement.Groups, "contractors")
		st.Enforcement.Clients = nil
		st.Enforcement.Deadline = time.Time{}
		st.Enforcement.Methods = nil
		st.UpdatedAt, st.UpdatedBy = base.Add(time.Minute), "other admin"
		return nil
	})
	wantErr(t, "second UpdateSettings", err, nil)
	want.Enforcement = store.Enforcement{Mode: "required",
		Groups: map[string]string{"vpn-admins": "required", "Ünïcode": "optional"}}
	want.UpdatedAt, want.UpdatedBy = base.Add(time.Minute), "other admin"
	if got := settingsOf(t, s); !equalSettings(got, want) {
		t.Errorf("after the second update: %+v\nwant %+v", got, want)
	}

	wantErr(t, "UpdateSettings to zero", s.UpdateSettings(ctx, func(st *store.Settings) error {
		*st = store.Settings{}
		return nil
	}), nil)
	if got := settingsOf(t, s); !equalSettings(got, store.Settings{}) {
		t.Errorf("after clearing: %+v, want the zero value", got)
	}
}

// An error from fn aborts UpdateSettings, is returned, and leaves the
// settings as they were.
func testUpdateSettingsErrorAborts(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := fullSettings()
	wantErr(t, "UpdateSettings", s.UpdateSettings(ctx, func(st *store.Settings) error {
		*st = fullSettings()
		return nil
	}), nil)
	errStop := errors.New("stop")
	err := s.UpdateSettings(ctx, func(st *store.Settings) error {
		st.Enforcement.Mode = "off"
		st.Enforcement.Groups["vpn-admins"] = "off"
		st.UpdatedBy = "mallory"
		return errStop
	})
	wantErr(t, "failing UpdateSettings", err, errStop)
	if got := settingsOf(t, s); !equalSettings(got, want) {
		t.Errorf("after an aborted update: %+v\nwant %+v", got, want)
	}
}

// equalSettings compares settings, times by instant; a nil map or slice
// equals an empty one.
func equalSettings(a, b store.Settings) bool {
	ea, eb := a.Enforcement, b.Enforcement
	return ea.Mode == eb.Mode && maps.Equal(ea.Groups, eb.Groups) && maps.Equal(ea.Clients, eb.Clients) &&
		ea.Deadline.Equal(eb.Deadline) && slices.Equal(ea.Methods, eb.Methods) &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedBy == b.UpdatedBy
}
