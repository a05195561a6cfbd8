// Package bolt is the embedded default store.Store of radiusmfa, on one bbolt
// file.
//
// User and enrollment records, which every login reads, are in a compact
// hand-written binary layout (records.go); each enrollment's replay counter
// and last use are a fixed 16-byte value in a bucket of its own, so an
// accepted login writes those bytes and nothing else. Lockout and audit
// records, and the run-time settings, are JSON. Enrollment secrets are sealed with AES-256-GCM under the
// master key and bound to their (user, enrollment) position, so the file
// alone never reveals a seed. The layout is versioned and migrated at Open
// (schema.go). Writes on the login path (AdvanceCounter, RecordFailure,
// AppendAudit) are group-committed by the DB's own committer (commit.go):
// many concurrent logins share one fsync, which is what lets replay state
// stay durable at high rates.
//
// bbolt holds an exclusive lock on the file, so only one process at a time can
// open it: a running server owns it and other tools go through the server.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"radiusmfa/store"
)

// DefaultLockTimeout is how long Open waits for another process to release the
// file lock before giving up.
const DefaultLockTimeout = time.Second

// Options tunes a DB. The zero value keeps every audit record forever.
type Options struct {
	MaxAuditRecords int           // keep at most this many audit records; 0: no limit
	MaxAuditAge     time.Duration // drop audit records older than this; 0: no limit
	// Now is the clock used for timestamps the caller leaves zero and for audit
	// age; nil means time.Now.
	Now func() time.Time
	// Logger receives schema and lifecycle events; nil discards them.
	Logger *slog.Logger
	// LockTimeout bounds the wait for the file lock; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// NoSync skips fsync on commit. Only for bulk loads (the bench setup)
	// that call Sync before Close; a crash loses unsynced writes.
	NoSync bool
}

// DB is a store.Store on a bbolt file. It is safe for concurrent use.
type DB struct {
	bolt    *bbolt.DB
	commits *committer // group-commits the login path's writes
	seal    *sealer
	opts    Options
	now     func() time.Time
	logger  *slog.Logger
}

// Compile-time check that DB satisfies the contract.
var _ store.Store = (*DB)(nil)

// Open opens or creates the database at path, sealing secrets under key (32
// bytes). It migrates an older layout, refuses a newer one, and fails when key
// is not the key the database was created with.
func Open(path string, key []byte, opts Options) (*DB, error) {
	seal, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: another process holds the database "+
			"(is a radiusmfa server running? use its admin socket instead): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	bdb.NoSync = opts.NoSync
	d := &DB{bolt: bdb, seal: seal, opts: opts, now: opts.Now, logger: opts.Logger}
	if d.now == nil {
		d.now = time.Now
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if err := d.prepare(); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	d.commits = startCommitter(bdb)
	return d, nil
}

// prepare brings the schema up to date and checks the master key, in one
// transaction so a half-initialised file is never left behind.
func (d *DB) prepare() error {
	return d.bolt.Update(func(tx *bbolt.Tx) error {
		from, to, err := migrate(tx)
		if err != nil {
			return err
		}
		if from != to {
			d.logger.Info("store schema migrated", "from_version", from, "to_version", to)
		}
		return d.seal.checkKey(tx.Bucket(bucketMeta))
	})
}

// Close finishes the group commit under way, releases the file and its lock.
// Later calls return store.ErrClosed.
func (d *DB) Close() error {
	d.commits.stop()
	return d.bolt.Close()
}

// view runs a read-only transaction.
func (d *DB) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return closedErr(d.bolt.View(fn))
}

// update runs a read-write transaction on its own; fn's error aborts it.
func (d *DB) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return closedErr(d.bolt.Update(fn))
}

// batch runs fn in a transaction group-committed with other concurrent batch
// calls; see committer.do for what fn may return.
func (d *DB) batch(ctx context.Context, fn func(*bbolt.Tx) error) error {
	return d.commits.do(ctx, fn)
}

// closedErr turns bbolt's "not open" into the contract's ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}
