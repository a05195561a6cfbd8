package bolt

import (
	"context"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// Lockout returns the failure counter of user, the zero value when there is
// none. Any name is accepted: unknown users are counted like known ones so
// lockout does not reveal which accounts exist.
func (d *DB) Lockout(ctx context.Context, user string) (store.Lockout, error) {
	var l store.Lockout
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		l, err = getLockout(tx, user)
		return err
	})
	return l, err
}

// RecordFailure counts one failure at time at and locks per p. It is
// group-committed like AdvanceCounter, since a password-spraying attack turns
// it into a hot path too.
func (d *DB) RecordFailure(ctx context.Context, user string, at time.Time, p store.LockoutPolicy) (store.Lockout, error) {
	// Any non-empty name is counted, NUL bytes included: the lockout key is the
	// bare name, with no separator to protect as in enrollment keys.
	if user == "" || len(user) > maxNameLen {
		return store.Lockout{}, checkName("user name", user)
	}
	if at.IsZero() {
		at = d.now()
	}
	var l store.Lockout
	err := d.batch(ctx, func(tx *bbolt.Tx) error {
		var err error
		if l, err = getLockout(tx, user); err != nil {
			return err
		}
		l = p.Count(l, at)
		val, err := encode(l)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketLockouts).Put([]byte(user), val)
	})
	if err != nil {
		return store.Lockout{}, err
	}
	return l, nil
}

// ClearFailures deletes the user's counter. Every successful login calls it,
// so the common case, no counter, is answered by a read-only transaction that
// takes no write lock and no fsync.
func (d *DB) ClearFailures(ctx context.Context, user string) error {
	var exists bool
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		exists = tx.Bucket(bucketLockouts).Get([]byte(user)) != nil
		return nil
	})
	if err != nil || !exists {
		return err
	}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketLockouts).Delete([]byte(user))
	})
}

func getLockout(tx *bbolt.Tx, user string) (store.Lockout, error) {
	var l store.Lockout
	v := tx.Bucket(bucketLockouts).Get([]byte(user))
	if v == nil {
		return l, nil
	}
	return l, decode(v, &l)
}

// pruneBatch bounds the deletions of one write transaction, so pruning
// never holds the writer (and with it every login's commit) for long.
const pruneBatch = 1000

// PruneLockouts implements store.Store. It runs from a periodic sweeper, not
// on the login path: it finds stale counters in a read transaction, then
// deletes them in bounded write transactions, checking each again.
func (d *DB) PruneLockouts(ctx context.Context, idleSince, now time.Time) (int, error) {
	stale := func(v []byte) (bool, error) {
		var l store.Lockout
		if err := decode(v, &l); err != nil {
			return false, err
		}
		return l.LastFailure.Before(idleSince) && !l.Active(now), nil
	}
	var found [][]byte
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketLockouts).ForEach(func(k, v []byte) error {
			ok, err := stale(v)
			if ok {
				found = append(found, append([]byte(nil), k...))
			}
			return err
		})
	})
	if err != nil {
		return 0, err
	}
	pruned := 0
	for len(found) > 0 {
		chunk := found[:min(pruneBatch, len(found))]
		found = found[len(chunk):]
		err := d.update(ctx, func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketLockouts)
			for _, k := range chunk {
				v := b.Get(k)
				if v == nil {
					continue
				}
				// A failure since the scan makes the counter current again.
				if ok, err := stale(v); err != nil || !ok {
					if err != nil {
						return err
					}
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
				pruned++
			}
			return nil
		})
		if err != nil {
			return pruned, err
		}
	}
	return pruned, nil
}
