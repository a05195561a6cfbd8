package bolt

import (
	"bytes"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// enrollmentRecordV1 is the enrollment record as schema version 1 wrote it (a
// store.Enrollment without its secret, plus the sealed secret), frozen here so
// later changes to store.Enrollment cannot change how old files are read.
type enrollmentRecordV1 struct {
	ID           string    `json:"id"`
	User         string    `json:"user"`
	Kind         string    `json:"kind"`
	Label        string    `json:"label,omitempty"`
	Digits       int       `json:"digits,omitempty"`
	Algorithm    string    `json:"algorithm,omitempty"`
	Period       int       `json:"period,omitempty"`
	Counter      uint64    `json:"counter"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	LastUsedAt   time.Time `json:"last_used_at,omitempty"`
	SealedSecret []byte    `json:"sealed_secret"`
}

// splitCounters is migration 2: it creates bucketCounters, moves every
// enrollment's counter and last use into it, and rewrites each record
// without them. Sealed secrets are carried over as stored bytes; their
// binding to (user, id) is unchanged because the keys are.
func splitCounters(tx *bbolt.Tx) error {
	counters, err := tx.CreateBucket(bucketCounters)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketCounters, err)
	}
	enrollments := tx.Bucket(bucketEnrollments)
	c := enrollments.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key := bytes.Clone(k) // bbolt keeps Put's key until commit
		rec, state, err := splitRecordV1(v)
		if err != nil {
			return fmt.Errorf("enrollment %q: %w", key, err)
		}
		if err := counters.Put(key, state); err != nil {
			return err
		}
		if err := enrollments.Put(key, rec); err != nil {
			return err
		}
		// A Put under a cursor may move what it points at; find our place again.
		c.Seek(key)
	}
	return nil
}

// splitRecordV1 turns one version-1 record into a version-2 record and its
// counters value.
func splitRecordV1(v []byte) (rec, state []byte, err error) {
	var old enrollmentRecordV1
	if err := decode(v, &old); err != nil {
		return nil, nil, err
	}
	state, err = counterState{Counter: old.Counter, LastUsedAt: old.LastUsedAt}.encode()
	if err != nil {
		return nil, nil, err
	}
	rec, err = encode(enrollmentRecordV2{
		Kind: old.Kind, Label: old.Label, Digits: old.Digits, Algorithm: old.Algorithm,
		Period: old.Period, Disabled: old.Disabled, CreatedAt: old.CreatedAt,
		SealedSecret: old.SealedSecret,
	})
	return rec, state, err
}
