package geoip

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Reload reads the file again if it has changed since it was last tried:
// another file renamed over it, as geoipupdate does, or the same file
// rewritten (a different size or modification time). A new file that
// cannot be used, or a file gone, is reported once and the database in use
// is kept; the next change is tried again. reloaded says whether a new
// file is in use.
func (d *DB) Reload() (reloaded bool, err error) {
	fi, statErr := os.Stat(d.path)
	d.mu.RLock()
	closed, seen := d.r == nil, d.seen
	d.mu.RUnlock()
	switch {
	case closed:
		return false, errClosed
	case statErr != nil:
		if seen == nil {
			return false, nil // reported already
		}
		d.setSeen(nil)
		return false, statErr
	case seen != nil && sameFile(fi, seen):
		return false, nil
	}
	r, mem, loaded, err := load(d.path)
	if err != nil {
		d.setSeen(fi)
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r == nil { // closed meanwhile
		r.Close()
		_ = unix.Munmap(mem)
		return false, errClosed
	}
	d.r.Close()
	_ = unix.Munmap(d.mem)
	d.r, d.mem, d.seen = r, mem, loaded
	return true, nil
}

func (d *DB) setSeen(fi os.FileInfo) {
	d.mu.Lock()
	d.seen = fi
	d.mu.Unlock()
}

// sameFile reports whether a and b are one version of one file.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// Watch calls Reload every interval until ctx ends or d is closed, and
// tells report of each new file in use (err nil) and of each one refused.
func (d *DB) Watch(ctx context.Context, every time.Duration, report func(err error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reloaded, err := d.Reload()
		switch {
		case errors.Is(err, errClosed):
			return
		case reloaded || err != nil:
			report(err)
		}
	}
}
