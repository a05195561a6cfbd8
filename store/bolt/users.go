package bolt

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// CreateUser stores a new user, filling CreatedAt and UpdatedAt when zero.
func (d *DB) CreateUser(ctx context.Context, u store.User) error {
	if err := checkName("user name", u.Name); err != nil {
		return err
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = d.now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	val, err := encodeUser(u)
	if err != nil {
		return err
	}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		if users.Get([]byte(u.Name)) != nil {
			return fmt.Errorf("%w: user %q", store.ErrExists, u.Name)
		}
		return users.Put([]byte(u.Name), val)
	})
}

// GetUser returns the named user or ErrNotFound.
func (d *DB) GetUser(ctx context.Context, name string) (store.User, error) {
	var u store.User
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		u, err = getUser(tx, name)
		return err
	})
	return u, err
}

// UpdateUser applies fn to the stored user in one transaction and stamps
// UpdatedAt. fn may not rename the user: enrollments are keyed by the name.
func (d *DB) UpdateUser(ctx context.Context, name string, fn func(*store.User) error) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		u, err := getUser(tx, name)
		if err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return err
		}
		if u.Name != name {
			return fmt.Errorf("bolt: user %q: renaming is not supported", name)
		}
		u.UpdatedAt = d.now()
		val, err := encodeUser(u)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Put([]byte(name), val)
	})
}

// DeleteUser removes the user, every enrollment with its replay counter, and
// the lockout counter in one transaction, so no orphaned secret outlives its
// account.
func (d *DB) DeleteUser(ctx context.Context, name string) error {
	return d.update(ctx, func(tx *bbolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		if users.Get([]byte(name)) == nil {
			return fmt.Errorf("%w: user %q", store.ErrNotFound, name)
		}
		if err := users.Delete([]byte(name)); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketEnrollments, bucketCounters} {
			if err := deletePrefix(tx.Bucket(b), enrollmentPrefix(name)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketLockouts).Delete([]byte(name))
	})
}

// ListUsers returns every user sorted by name (bbolt keeps keys in byte order).
func (d *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	users := []store.User{}
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			u, err := decodeUser(string(k), v)
			if err != nil {
				return err
			}
			users = append(users, u)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return users, nil
}

func getUser(tx *bbolt.Tx, name string) (store.User, error) {
	v := tx.Bucket(bucketUsers).Get([]byte(name))
	if v == nil || name == "" {
		return store.User{}, fmt.Errorf("%w: user %q", store.ErrNotFound, name)
	}
	return decodeUser(name, v)
}

// deletePrefix deletes every key of b starting with prefix. Keys are collected
// first because deleting under a moving cursor can skip entries.
func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
