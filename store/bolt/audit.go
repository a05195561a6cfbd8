package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// AppendAudit stores recs with increasing sequence numbers, stamping a zero
// Time with the store clock, then prunes past the retention limits. It is
// group-committed: every login appends one record.
func (d *DB) AppendAudit(ctx context.Context, recs ...store.AuditRecord) error {
	if len(recs) == 0 {
		return ctx.Err()
	}
	now := d.now()
	return d.batch(ctx, func(tx *bbolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		for _, rec := range recs { // a copy: the caller's slice is not touched
			seq, err := audit.NextSequence()
			if err != nil {
				return err
			}
			rec.Seq = seq
			if rec.Time.IsZero() {
				rec.Time = now
			}
			val, err := encode(rec)
			if err != nil {
				return err
			}
			if err := audit.Put(seqKey(seq), val); err != nil {
				return err
			}
		}
		return d.pruneAudit(audit, now)
	})
}

// pruneAudit drops the oldest records beyond MaxAuditRecords or MaxAuditAge.
// Sequences are consecutive and only the front is ever deleted, so the live
// keys are exactly [first, Sequence()]: the count costs one cursor step, and
// the age check stops at the first record young enough to keep.
func (d *DB) pruneAudit(audit *bbolt.Bucket, now time.Time) error {
	var cutoff time.Time
	if d.opts.MaxAuditAge > 0 {
		cutoff = now.Add(-d.opts.MaxAuditAge)
	}
	last := audit.Sequence()
	var doomed [][]byte
	c := audit.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		count := last - binary.BigEndian.Uint64(k) + 1
		if !d.tooMany(count) && !tooOld(v, cutoff) {
			break
		}
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := audit.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) tooMany(count uint64) bool {
	return d.opts.MaxAuditRecords > 0 && count > uint64(d.opts.MaxAuditRecords)
}

// tooOld reports a record stamped before cutoff; a zero cutoff keeps all. Only
// the time is decoded.
func tooOld(val []byte, cutoff time.Time) bool {
	if cutoff.IsZero() {
		return false
	}
	var head struct {
		Time time.Time `json:"time"`
	}
	if decode(val, &head) != nil {
		return true // unreadable audit is of no use to anyone; let it age out
	}
	return head.Time.Before(cutoff)
}

// RecentAudit returns up to n newest records, oldest first.
func (d *DB) RecentAudit(ctx context.Context, n int) ([]store.AuditRecord, error) {
	recs := []store.AuditRecord{}
	if n <= 0 {
		return recs, ctx.Err()
	}
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && len(recs) < n; k, v = c.Prev() {
			var rec store.AuditRecord
			if err := decode(v, &rec); err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(recs)
	return recs, nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
