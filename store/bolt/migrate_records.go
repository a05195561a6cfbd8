package bolt

import (
	"bytes"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// userRecordV2 is the user record as schema versions 1 and 2 wrote it (the
// JSON of store.User), frozen here so later changes to store.User cannot
// change how old files are read.
type userRecordV2 struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash,omitempty"`
	Roles        []string  `json:"roles,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// enrollmentRecordV2 is the enrollment record as schema version 2 wrote it,
// frozen likewise. Migration 2 still writes it: a step produces the layout of
// its own version, whatever came after.
type enrollmentRecordV2 struct {
	Kind         string    `json:"kind"`
	Label        string    `json:"label,omitempty"`
	Digits       int       `json:"digits,omitempty"`
	Algorithm    string    `json:"algorithm,omitempty"`
	Period       int       `json:"period,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	SealedSecret []byte    `json:"sealed_secret"`
}

// binaryRecords is migration 3: it rewrites every user and enrollment record
// from JSON into the binary layouts of records.go, in the formats of version
// 3 (users in format 0x01, enrollments in format 0x02; migrations 4 and 5
// move them on). Sealed secrets are carried over as stored bytes; their
// binding to (user, id) is unchanged because the keys are. A time outside
// the storable range fails the migration, naming the record, and leaves the
// file at version 2.
func binaryRecords(tx *bbolt.Tx) error {
	if err := rewriteValues(tx.Bucket(bucketUsers), "user", userV2ToBinary); err != nil {
		return err
	}
	return rewriteValues(tx.Bucket(bucketEnrollments), "enrollment", enrollmentV2ToBinary)
}

// rewriteValues replaces every value of b with convert(key, value).
func rewriteValues(b *bbolt.Bucket, what string, convert func(k, v []byte) ([]byte, error)) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key := bytes.Clone(k) // bbolt keeps Put's key until commit
		val, err := convert(key, v)
		if err != nil {
			return fmt.Errorf("%s %q: %w", what, key, err)
		}
		if err := b.Put(key, val); err != nil {
			return err
		}
		// A Put under a cursor may move what it points at; find our place again.
		c.Seek(key)
	}
	return nil
}

func userV2ToBinary(key, v []byte) ([]byte, error) {
	var old userRecordV2
	if err := decode(v, &old); err != nil {
		return nil, err
	}
	// The name moves out of the value into the key alone; the two have always
	// agreed (UpdateUser refuses renames), so a disagreement is corruption.
	if old.Name != string(key) {
		return nil, fmt.Errorf("record names user %q", old.Name)
	}
	return encodeUserFormat1(store.User{
		Name: old.Name, PasswordHash: old.PasswordHash, Roles: old.Roles, Disabled: old.Disabled,
		CreatedAt: old.CreatedAt, UpdatedAt: old.UpdatedAt,
	})
}

func enrollmentV2ToBinary(_, v []byte) ([]byte, error) {
	var old enrollmentRecordV2
	if err := decode(v, &old); err != nil {
		return nil, err
	}
	// Version 2 stored these fields and no others: the preference, expiry,
	// use limit and creator that version 5 added stay unset, and format 0x02
	// has no room for them anyway.
	return enrollmentRecord{
		Kind: old.Kind, Label: old.Label, Digits: old.Digits, Algorithm: old.Algorithm,
		Period: old.Period, Disabled: old.Disabled, CreatedAt: old.CreatedAt,
		SealedSecret: old.SealedSecret,
	}.encodeFormat1()
}
