package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// AddEnrollment stores a new enrollment with its secret sealed, and its
// counter and last use beside it. The user must exist and the id must be free
// for that user.
func (d *DB) AddEnrollment(ctx context.Context, e store.Enrollment) error {
	return d.addEnrollment(ctx, e, false)
}

// AddFirstEnrollment implements store.Store.
func (d *DB) AddFirstEnrollment(ctx context.Context, e store.Enrollment) error {
	return d.addEnrollment(ctx, e, true)
}

func (d *DB) addEnrollment(ctx context.Context, e store.Enrollment, onlyFirst bool) error {
	if err := checkName("user name", e.User); err != nil {
		return err
	}
	if err := checkName("enrollment id", e.ID); err != nil {
		return err
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = d.now()
	}
	state, err := counterState{Counter: e.Counter, LastUsedAt: e.LastUsedAt}.encode()
	if err != nil {
		return err
	}
	val, err := newEnrollmentRecord(e, d.seal.sealSecret(e.User, e.ID, e.Secret)).encode()
	if err != nil {
		return err
	}
	key := enrollmentKey(e.User, e.ID)
	return d.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(e.User)) == nil {
			return fmt.Errorf("%w: user %q", store.ErrNotFound, e.User)
		}
		enrollments := tx.Bucket(bucketEnrollments)
		if onlyFirst {
			prefix := []byte(e.User + keySep)
			if k, _ := enrollments.Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
				return fmt.Errorf("%w: user %q already has an enrollment", store.ErrExists, e.User)
			}
		}
		if enrollments.Get(key) != nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrExists, e.ID, e.User)
		}
		if err := enrollments.Put(key, val); err != nil {
			return err
		}
		return tx.Bucket(bucketCounters).Put(key, state)
	})
}

// Enrollments returns the user's enrollments, secrets opened, in id order. An
// unknown user has none: the caller cannot tell it from a user without devices.
func (d *DB) Enrollments(ctx context.Context, user string) ([]store.Enrollment, error) {
	var list []store.Enrollment
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		list, err = d.enrollments(tx, user)
		return err
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// enrollments reads the user's enrollments within tx; never nil on success.
func (d *DB) enrollments(tx *bbolt.Tx, user string) ([]store.Enrollment, error) {
	list := []store.Enrollment{}
	if checkName("user name", user) != nil {
		return list, nil // no such key can exist
	}
	prefix := enrollmentPrefix(user)
	counters := tx.Bucket(bucketCounters)
	c := tx.Bucket(bucketEnrollments).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		e, err := d.openEnrollment(user, string(k[len(prefix):]), v, counters.Get(k))
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, nil
}

// openEnrollment decodes a stored record, opens its secret and joins the
// record's counter value. The user and id come from the key, not from the
// record, so the secret's binding is checked against where the record sits.
func (d *DB) openEnrollment(user, id string, val, counter []byte) (store.Enrollment, error) {
	_, e, err := d.openRecord(user, id, val, counter)
	return e, err
}

// openRecord is openEnrollment that also returns the decoded record, whose
// SealedSecret aliases val.
func (d *DB) openRecord(user, id string, val, counter []byte) (enrollmentRecord, store.Enrollment, error) {
	where := func(err error) error { return fmt.Errorf("enrollment %q of user %q: %w", id, user, err) }
	rec, err := decodeEnrollmentRecord(val)
	if err != nil {
		return enrollmentRecord{}, store.Enrollment{}, where(err)
	}
	secret, err := d.seal.openSecret(user, id, rec.SealedSecret)
	if err != nil {
		return enrollmentRecord{}, store.Enrollment{}, err
	}
	if counter == nil {
		return enrollmentRecord{}, store.Enrollment{}, fmt.Errorf("bolt: enrollment %q of user %q "+
			"has no counter (the database is inconsistent)", id, user)
	}
	state, err := decodeCounterState(counter)
	if err != nil {
		return enrollmentRecord{}, store.Enrollment{}, where(err)
	}
	return rec, rec.enrollment(user, id, secret, state), nil
}

// DeleteEnrollment removes one enrollment and its counter, or returns
// ErrNotFound.
func (d *DB) DeleteEnrollment(ctx context.Context, user, id string) error {
	key := enrollmentKey(user, id)
	return d.update(ctx, func(tx *bbolt.Tx) error {
		enrollments := tx.Bucket(bucketEnrollments)
		if checkName("user name", user) != nil || enrollments.Get(key) == nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
		}
		if err := enrollments.Delete(key); err != nil {
			return err
		}
		return tx.Bucket(bucketCounters).Delete(key)
	})
}

// UpdateEnrollment applies fn to a copy of the stored enrollment, secret
// opened, in one read-write transaction, and stores what fn changed: the
// record only when one of its fields changed, the counters value only when
// Counter or LastUsedAt did, so a counter-only update (a backup code
// consumed) writes 16 bytes as AdvanceCounter does. Unlike AdvanceCounter it
// may lower Counter: fn decides. fn runs inside the transaction and must not
// call the store.
//
// Invariant: an enrollment's identity (ID, User, Kind, Secret, CreatedAt,
// CreatedBy) never changes once stored; a change by fn is refused with
// store.ErrInvalid and nothing is written. The secret is never sealed again:
// the stored sealed bytes are kept as they are.
func (d *DB) UpdateEnrollment(ctx context.Context, user, id string, fn func(*store.Enrollment) error) error {
	key := enrollmentKey(user, id)
	return d.update(ctx, func(tx *bbolt.Tx) error {
		enrollments, counters := tx.Bucket(bucketEnrollments), tx.Bucket(bucketCounters)
		val := enrollments.Get(key)
		if val == nil || checkName("user name", user) != nil || checkName("enrollment id", id) != nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
		}
		rec, old, err := d.openRecord(user, id, val, counters.Get(key))
		if err != nil {
			return err
		}
		e := old
		e.Secret = bytes.Clone(old.Secret) // fn may write into it; old must stay as stored
		if err := fn(&e); err != nil {
			return err
		}
		if err := checkIdentityKept(old, e); err != nil {
			return err
		}
		// The encoding is canonical, so equal bytes mean no record field changed.
		newVal, err := newEnrollmentRecord(e, rec.SealedSecret).encode()
		if err != nil {
			return fmt.Errorf("enrollment %q of user %q: %w", id, user, err)
		}
		if !bytes.Equal(newVal, val) {
			if err := enrollments.Put(key, newVal); err != nil {
				return err
			}
		}
		if e.Counter == old.Counter && e.LastUsedAt.Equal(old.LastUsedAt) {
			return nil
		}
		state, err := counterState{Counter: e.Counter, LastUsedAt: e.LastUsedAt}.encode()
		if err != nil {
			return fmt.Errorf("enrollment %q of user %q: %w", id, user, err)
		}
		return counters.Put(key, state) // the key is there: the invariant holds
	})
}

// checkIdentityKept returns a store.ErrInvalid error naming the first
// identity field that differs between the stored enrollment old and e.
func checkIdentityKept(old, e store.Enrollment) error {
	var field string
	switch {
	case e.ID != old.ID:
		field = "ID"
	case e.User != old.User:
		field = "User"
	case e.Kind != old.Kind:
		field = "Kind"
	case !bytes.Equal(e.Secret, old.Secret):
		field = "Secret"
	case !e.CreatedAt.Equal(old.CreatedAt):
		field = "CreatedAt"
	case e.CreatedBy != old.CreatedBy:
		field = "CreatedBy"
	default:
		return nil
	}
	return fmt.Errorf("%w: enrollment %q of user %q: %s cannot be changed", store.ErrInvalid,
		old.ID, old.User, field)
}

// AdvanceCounter raises the enrollment's counter to c if c is greater, in a
// group-committed transaction: concurrent logins on any enrollments share one
// fsync. Calls on the same enrollment run one after another inside the shared
// transaction, so of several offering the same c exactly one wins.
//
// Only the 16-byte counters value is read and written; the enrollment record
// and its sealed secret are never touched. A missing counters value means an
// unknown enrollment (the bucketCounters invariant). The value is encoded
// before queueing, so the committer goroutine, which every login waits on,
// does no more than a lookup, an 8-byte compare and a Put.
func (d *DB) AdvanceCounter(ctx context.Context, user, id string, c uint64, at time.Time) error {
	if at.IsZero() {
		at = d.now()
	}
	val, err := counterState{Counter: c, LastUsedAt: at}.encode()
	if err != nil {
		return err
	}
	key := enrollmentKey(user, id)
	return d.batch(ctx, func(tx *bbolt.Tx) error {
		counters := tx.Bucket(bucketCounters)
		stored := counters.Get(key)
		if stored == nil || checkName("user name", user) != nil {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrNotFound, id, user)
		}
		last, err := storedCounter(stored)
		if err != nil {
			return fmt.Errorf("enrollment %q of user %q: %w", id, user, err)
		}
		if c <= last {
			return fmt.Errorf("%w: enrollment %q of user %q", store.ErrReplay, id, user)
		}
		return counters.Put(key, val)
	})
}
