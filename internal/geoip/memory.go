package geoip

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// maxFileSize bounds the database file read: GeoIP2 City is about 130 MB,
// GeoLite2 City about 60 MB.
const maxFileSize = 1 << 30

// privateCopy reads the file at path into an anonymous private mapping,
// read-only once filled, and returns it with the file's details. Unlike
// the shared mapping maxminddb.Open makes, it cannot fault when the file
// is truncated or rewritten in place while in use; unlike a []byte, its
// tens of megabytes do not raise the garbage collector's heap goal. Free
// it with unix.Munmap.
func privateCopy(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	switch size := fi.Size(); {
	case !fi.Mode().IsRegular():
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	case size == 0:
		return nil, nil, fmt.Errorf("%s is empty", path)
	case size > maxFileSize:
		return nil, nil, fmt.Errorf("%s is larger than %d MiB", path, maxFileSize>>20)
	}
	mem, err := unix.Mmap(-1, 0, int(fi.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("memory for %s: %w", path, err)
	}
	if _, err := io.ReadFull(f, mem); err != nil {
		_ = unix.Munmap(mem)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("the file shrank while being read")
		}
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := unix.Mprotect(mem, unix.PROT_READ); err != nil {
		_ = unix.Munmap(mem)
		return nil, nil, fmt.Errorf("memory for %s: %w", path, err)
	}
	return mem, fi, nil
}
