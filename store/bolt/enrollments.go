package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// AddEnrollment stores a new enrollment with its secret sealed. The user must
// exist and the id must be free for that user.
func (d *DB) AddEnrollment(ctx context.Context, e store.Enrollment) error {
	if err := checkName("user name", e.User); err != nil {
		return err
	}
	if err := checkName("enrollment id", e.ID); err != nil {
		return err
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = d.now()
	}
	rec := enrollmentRecord{Enrollment: e, SealedSecret: d.seal.sealSecret(e.User, e.ID, e.Secret)}
	rec.Secret = nil // the embedded field is never encoded; drop it anyway
	val, err := encode(rec)
	if err != nil {
		return err
	}
	key := enrollmentKey(e.User, e.ID)
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(e.User)) == nil {
			return fmt.Errorf("%w: user %q", store.ErrNotFound, e.User)
		}
		enrollments := tx.Bucket(bucketEnrollments)
		if enrollments.Get(key) != nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrExists, e.ID, e.User)
		}
		return enrollments.Put(key, val)
	})
}

// Enrollments returns the user's enrollments, secrets opened, in id order. An
// unknown user has none: the caller cannot tell it from a user without devices.
func (d *DB) Enrollments(ctx context.Context, user string) ([]store.Enrollment, error) {
	list := []store.Enrollment{}
	if checkName("user name", user) != nil {
		return list, nil // no such key can exist
	}
	prefix := enrollmentPrefix(user)
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEnrollments).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			e, err := d.openEnrollment(user, string(k[len(prefix):]), v)
			if err != nil {
				return err
			}
			list = append(list, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// openEnrollment decodes a stored record and opens its secret. The user and
// id come from the key, not from the JSON, so the secret's binding is checked
// against where the record sits.
func (d *DB) openEnrollment(user, id string, val []byte) (store.Enrollment, error) {
	var rec enrollmentRecord
	if err := decode(val, &rec); err != nil {
		return store.Enrollment{}, fmt.Errorf("enrollment %q of user %q: %w", id, user, err)
	}
	secret, err := d.seal.openSecret(user, id, rec.SealedSecret)
	if err != nil {
		return store.Enrollment{}, err
	}
	e := rec.Enrollment
	e.User, e.ID, e.Secret = user, id, secret
	return e, nil
}

// DeleteEnrollment removes one enrollment or returns ErrNotFound.
func (d *DB) DeleteEnrollment(ctx context.Context, user, id string) error {
	key := enrollmentKey(user, id)
	return d.update(ctx, func(tx *bbolt.Tx) error {
		enrollments := tx.Bucket(bucketEnrollments)
		if checkName("user name", user) != nil || enrollments.Get(key) == nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
		}
		return enrollments.Delete(key)
	})
}

// AdvanceCounter raises the enrollment's counter to c if c is greater, in a
// group-committed transaction: concurrent logins on any enrollments share one
// fsync. Calls on the same enrollment run one after another inside the shared
// transaction, so of several offering the same c exactly one wins.
//
// The sealed secret is carried over as stored bytes; the hot path never
// decrypts.
func (d *DB) AdvanceCounter(ctx context.Context, user, id string, c uint64, at time.Time) error {
	if at.IsZero() {
		at = d.now()
	}
	key := enrollmentKey(user, id)
	return d.batch(ctx, func(tx *bbolt.Tx) error {
		enrollments := tx.Bucket(bucketEnrollments)
		val := enrollments.Get(key)
		if val == nil || checkName("user name", user) != nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
		}
		var rec enrollmentRecord
		if err := decode(val, &rec); err != nil {
			return err
		}
		if c <= rec.Counter {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrReplay, id, user)
		}
		rec.Counter, rec.LastUsedAt = c, at
		out, err := encode(rec)
		if err != nil {
			return err
		}
		return enrollments.Put(key, out)
	})
}
