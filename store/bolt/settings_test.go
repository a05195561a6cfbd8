package bolt

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// TestSettingsStoredInMeta checks the settings sit where schema.go says, as
// JSON under metaSettings, and that a damaged value is an error for both
// Settings and UpdateSettings (whose fn is then not called) rather than
// silently read as the zero value and written over.
func TestSettingsStoredInMeta(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	meta := func() []byte {
		var v []byte
		_ = db.bolt.View(func(tx *bbolt.Tx) error {
			v = append(v, tx.Bucket(bucketMeta).Get(metaSettings)...)
			return nil
		})
		return v
	}
	if v := meta(); v != nil {
		t.Fatalf("a new file holds settings %q", v)
	}
	err := db.UpdateSettings(ctx, func(s *store.Settings) error {
		s.Enforcement.Mode, s.UpdatedBy = "required", "admin"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := string(meta()); !strings.Contains(v, `"mode":"required"`) || !strings.Contains(v, `"updated_by":"admin"`) {
		t.Errorf("stored settings %s", v)
	}

	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSettings, []byte(`{"enforcement":`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := db.Settings(ctx); err == nil || !strings.Contains(err.Error(), "store.Settings") {
		t.Errorf("Settings over a damaged value: %+v, %v", s, err)
	}
	called := false
	err = db.UpdateSettings(ctx, func(s *store.Settings) error {
		called = true
		*s = store.Settings{}
		return nil
	})
	if err == nil || called {
		t.Errorf("UpdateSettings over a damaged value: %v (fn called: %v)", err, called)
	}
	if v := string(meta()); v != `{"enforcement":` {
		t.Errorf("a failed UpdateSettings wrote %s", v)
	}
	if _, err := db.Settings(ctx); err == nil {
		t.Error("the damaged value was repaired")
	}
}

// A file from before version 5 knew one MFA mode, "required": the upgrade
// keeps it as a pending setting; a new file has none.
func TestUpgradeKeepsMFARequired(t *testing.T) {
	fresh, _ := openTemp(t, Options{})
	if s, err := fresh.Settings(context.Background()); err != nil || s.Enforcement.Mode != "" {
		t.Fatalf("new file settings %+v, %v: want none", s, err)
	}
	path := filepath.Join(t.TempDir(), "radiusmfa.db")
	binaryFile{version: 4, users: []store.User{{Name: "alice", CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}}}.write(t, path)
	db, err := Open(path, testKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Enforcement.Mode != "required" || !s.UpdatedAt.IsZero() || !strings.Contains(s.UpdatedBy, "version 4") {
		t.Fatalf("upgraded settings %+v: want a pending required mode", s)
	}
}
