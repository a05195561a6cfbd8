package bolt

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// Settings returns the run-time settings, the zero value until the first
// UpdateSettings.
func (d *DB) Settings(ctx context.Context) (store.Settings, error) {
	var s store.Settings
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		s, err = getSettings(tx)
		return err
	})
	if err != nil {
		return store.Settings{}, err
	}
	return s, nil
}

// UpdateSettings applies fn to the stored settings (the zero value when none
// are stored) and writes the result, in one read-write transaction. fn runs
// inside it and must not call the store. The settings are stored as fn leaves
// them: UpdatedAt and UpdatedBy are the caller's to set.
func (d *DB) UpdateSettings(ctx context.Context, fn func(*store.Settings) error) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		s, err := getSettings(tx)
		if err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
		val, err := encode(s) // its error names store.Settings
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaSettings, val)
	})
}

// getSettings reads the settings within tx.
func getSettings(tx *bbolt.Tx) (store.Settings, error) {
	var s store.Settings
	v := tx.Bucket(bucketMeta).Get(metaSettings)
	if v == nil {
		return s, nil
	}
	if err := decode(v, &s); err != nil { // its error names store.Settings
		return store.Settings{}, err
	}
	return s, nil
}

// putPreEnforcementSettings records, for a file written before version 5,
// that its MFA mode was "required": pending, with UpdatedAt zero.
func putPreEnforcementSettings(tx *bbolt.Tx, from int) error {
	s, err := getSettings(tx)
	if err != nil {
		return err
	}
	s.Enforcement.Mode = "required"
	s.UpdatedBy = fmt.Sprintf("upgrade from schema version %d (MFA was required)", from)
	val, err := encode(s)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaSettings, val)
}
