package bolt

import (
	"context"
	"errors"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// LoginState implements store.Store: the user, the lockout counter and the
// enrollments in one read transaction. A bbolt read transaction takes the
// DB's global locks and allocates on begin and rollback, so one per login
// instead of four is a measurable share of the server's CPU.
func (d *DB) LoginState(ctx context.Context, user string) (store.LoginState, error) {
	var s store.LoginState
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		u, err := getUser(tx, user)
		switch {
		case err == nil:
			s.User, s.UserFound = u, true
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if v := tx.Bucket(bucketLockouts).Get([]byte(user)); v != nil {
			s.LockoutFound = true
			if err := decode(v, &s.Lockout); err != nil {
				return err
			}
		}
		s.Enrollments, err = d.enrollments(tx, user)
		return err
	})
	if err != nil {
		return store.LoginState{}, err
	}
	return s, nil
}
