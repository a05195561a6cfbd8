// Package bolt is the embedded default store.Store of radiusmfa, on one bbolt
// file.
//
// Every record is JSON; enrollment secrets are sealed with AES-256-GCM under
// the master key and bound to their (user, enrollment) position, so the file
// alone never reveals a seed. The layout is versioned and migrated at Open
// (schema.go). Writes on the login path (AdvanceCounter, RecordFailure,
// AppendAudit) are group-committed with bbolt's Batch: many concurrent logins
// share one fsync, which is what lets replay state stay durable at high rates.
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

	"radiusmfa/store"
)

// DefaultLockTimeout is how long Open waits for another process to release the
// file lock before giving up.
const DefaultLockTimeout = time.Second

// DefaultBatchDelay is how long a group-committed write waits for companions.
// bbolt's own 10ms favours throughput only: a lone login would idle 10ms.
// While one batch commits the next one fills anyway, so a short delay loses
// little under load; 2ms measured best from 1 to 256 concurrent callers.
const DefaultBatchDelay = 2 * time.Millisecond

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
	// BatchDelay is the longest a group-committed write waits for companions
	// before its transaction starts; 0 means DefaultBatchDelay.
	BatchDelay time.Duration
	// NoSync skips fsync on commit. Only for bulk loads (the bench setup)
	// that call Sync before Close; a crash loses unsynced writes.
	NoSync bool
}

// DB is a store.Store on a bbolt file. It is safe for concurrent use.
type DB struct {
	bolt   *bbolt.DB
	seal   *sealer
	opts   Options
	now    func() time.Time
	logger *slog.Logger
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
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: another process holds the database "+
			"(is a radiusmfa server running? use its admin socket instead): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	bdb.MaxBatchDelay = DefaultBatchDelay
	bdb.NoSync = opts.NoSync
	if opts.BatchDelay > 0 {
		bdb.MaxBatchDelay = opts.BatchDelay
	}
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

// Close releases the file and its lock. Later calls return store.ErrClosed.
func (d *DB) Close() error {
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

// batch runs fn in a transaction shared with other concurrent batch calls,
// committed (and fsynced) once for all of them.
//
// fn must check before it writes: a store sentinel it returns (a replay, an
// unknown enrollment) is handed to the caller without failing the shared
// transaction. Returning it to bbolt would roll back every companion and rerun
// the whole batch, so a flood of replayed codes would cost one fsync each.
// Any other error aborts as usual. bbolt may call fn more than once; the
// result of the last call, the one whose transaction committed, is returned.
func (d *DB) batch(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var outcome error
	err := d.bolt.Batch(func(tx *bbolt.Tx) error {
		outcome = fn(tx)
		if isSentinel(outcome) {
			return nil
		}
		return outcome
	})
	if err != nil {
		return closedErr(err)
	}
	return outcome
}

// isSentinel reports a caller-facing outcome, as opposed to a failure.
func isSentinel(err error) bool {
	return errors.Is(err, store.ErrReplay) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrExists)
}

// closedErr turns bbolt's "not open" into the contract's ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}
