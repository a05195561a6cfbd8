package bolt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"radiusmfa/store"
)

// maxGroup bounds how many writes share one transaction, so one commit's
// dirty pages and its callers' wait stay bounded under any load.
const maxGroup = 4096

// maxIsolations is how many failing writes a group sets aside, each run on
// its own, before the rest is committed one write per transaction. Every
// isolation reruns the group; the bound keeps a group of many bad writes from
// costing quadratic work.
const maxIsolations = 3

// committer group-commits writes: one goroutine takes the first waiting write,
// every other write waiting at that moment, and commits them in one
// transaction, so they share one fsync. Writes that arrive during a commit
// form the next group, so the group grows with the fsync latency and a lone
// write never waits for companions that are not coming.
//
// Under load (the previous group held more than one write) the committer
// also lingers a little for more writes before committing (see lingerFor). Without
// that, a steady stream of logins at a rate well below the disk's (1,500 a
// second against a 2 ms commit, say) commits in groups of a handful, and
// the commits' CPU (page writes, fdatasync) becomes a large part of a
// login's. A lone write, after a lone write, never lingers.
//
// bbolt's own DB.Batch waits MaxBatchDelay for companions and then queues each
// detached batch on the writer lock; behind a slow fsync those batches pile up
// small and throughput falls to a few hundred commits a second. Here only the
// committer ever waits for the writer lock.
type committer struct {
	db    *bbolt.DB
	queue chan *write   // unbuffered: a completed send means the committer took the write
	quit  chan struct{} // closed by stop: waiting writes give up
	done  chan struct{} // closed when run has returned
	once  sync.Once
	group []*write // run's reusable group buffer
	// lingered counts the groups that waited for companions (tests).
	lingered int
}

// A group under load (the previous one held lingerMinGroup writes or more)
// waits for companions twice as long as the previous commit took, within
// [lingerMin, lingerFor]: on a slow disk the wait grows with the fsync it
// saves, on a fast one it stays short, and few writers (groups of one or
// two) never wait. lingerFor is small beside a login's network and
// directory time.
const (
	lingerMinGroup = 3
	lingerMin      = 100 * time.Microsecond
	lingerFor      = 2 * time.Millisecond
)

// write is one caller's fn waiting to be committed.
type write struct {
	fn  func(*bbolt.Tx) error
	err error      // fn's outcome in the latest transaction that ran it
	res chan error // buffered, so answering never blocks the committer
}

func startCommitter(db *bbolt.DB) *committer {
	c := &committer{
		db:    db,
		queue: make(chan *write),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go c.run()
	return c
}

// do commits fn in a transaction shared with other writes and returns fn's
// outcome once that transaction is durable.
//
// fn must check before it writes: a store sentinel it returns (a replay, an
// unknown enrollment) is its caller's answer and the shared transaction still
// commits, so a flood of replayed codes costs no extra fsync. Any other error
// rolls the transaction back and fn's companions are rerun without it. fn may
// therefore run more than once; the outcome of the run that committed is
// returned.
//
// A ctx that ends before the committer takes the write returns ctx.Err() with
// nothing written. Once taken, the write may commit, so do waits for it.
func (c *committer) do(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{fn: fn, res: make(chan error, 1)}
	select {
	case c.queue <- w:
		return <-w.res
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return store.ErrClosed
	}
}

// stop makes waiting and later writes fail with store.ErrClosed and waits for
// the group in flight to be committed and answered. A write is answered
// either by its transaction or, never taken, by ErrClosed: ErrClosed always
// means nothing was written.
func (c *committer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	last := 0              // size of the previous group: several means load
	var took time.Duration // how long the previous commit took
	for {
		select {
		case w := <-c.queue:
			group := c.gather(w)
			if last >= lingerMinGroup && len(group) < maxGroup {
				group = c.linger(group, min(max(2*took, lingerMin), lingerFor))
			}
			last = len(group)
			start := time.Now()
			c.commit(group)
			took = time.Since(start)
		case <-c.quit:
			return
		}
	}
}

// linger adds the writes that arrive within d (or until stop) to group, up
// to maxGroup.
func (c *committer) linger(group []*write, d time.Duration) []*write {
	c.lingered++
	t := time.NewTimer(d)
	defer t.Stop()
	for len(group) < maxGroup {
		select {
		case w := <-c.queue:
			group = append(group, w)
		case <-t.C:
			return group
		case <-c.quit:
			return group
		}
	}
	return group
}

// gather returns first and every write waiting right now, up to maxGroup,
// without blocking.
func (c *committer) gather(first *write) []*write {
	group := append(c.group[:0], first)
	for len(group) < maxGroup {
		select {
		case w := <-c.queue:
			group = append(group, w)
		default:
			return group
		}
	}
	return group
}

// commit runs group in as few transactions as it can and answers each write.
// Writes run in arrival order, so of several on one enrollment the first wins.
func (c *committer) commit(group []*write) {
	all := group
	defer func() {
		clear(all) // drop the writes, keep the buffer
		c.group = all[:0]
	}()
	for range maxIsolations {
		failed, err := c.commitGroup(group)
		switch {
		case failed >= 0:
			// The failure may be fn's own or caused by a companion's writes:
			// its lone run decides, and the rest retry together.
			group[failed].res <- c.commitOne(group[failed])
			group = slices.Delete(group, failed, failed+1)
			if len(group) == 0 {
				return
			}
		case err != nil:
			c.commitEach(group) // the commit itself failed; nobody to blame
			return
		default:
			for _, w := range group {
				w.res <- w.err
			}
			return
		}
	}
	c.commitEach(group)
}

// commitGroup runs every write in one transaction. It returns the index of
// the write whose error aborted the transaction, or -1 with the commit error.
func (c *committer) commitGroup(group []*write) (failed int, err error) {
	failed = -1
	err = c.db.Update(func(tx *bbolt.Tx) error {
		for i, w := range group {
			if w.err = call(w.fn, tx); w.err != nil && !isSentinel(w.err) {
				failed = i
				return w.err
			}
		}
		return nil
	})
	return failed, err
}

func (c *committer) commitEach(group []*write) {
	for _, w := range group {
		w.res <- c.commitOne(w)
	}
}

// commitOne runs w in a transaction of its own.
func (c *committer) commitOne(w *write) error {
	err := c.db.Update(func(tx *bbolt.Tx) error {
		if w.err = call(w.fn, tx); isSentinel(w.err) {
			return nil
		}
		return w.err
	})
	if err != nil {
		return closedErr(err)
	}
	return w.err
}

// call runs fn, turning a panic into an error: a panic on the committer
// goroutine would otherwise take every waiting caller down with it.
func call(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt: group-committed write panicked: %v", p)
		}
	}()
	return fn(tx)
}

// isSentinel reports a caller-facing outcome, as opposed to a failure.
func isSentinel(err error) bool {
	return errors.Is(err, store.ErrReplay) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrExists)
}
