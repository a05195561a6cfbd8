package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"golang.org/x/sys/unix"
)

// Location is where a client address is, in English, as far as the
// database knows: a Country database has no City.
type Location struct {
	Country     string // "Germany"
	CountryCode string // ISO 3166-1 alpha-2: "DE"
	City        string // "Berlin"
}

// String is "City, Country", or whichever of the two is known; the country
// code stands in for a country without an English name.
func (l Location) String() string {
	country := l.Country
	if country == "" {
		country = l.CountryCode
	}
	switch {
	case l.City != "" && country != "":
		return l.City + ", " + country
	case l.City != "":
		return l.City
	}
	return country
}

// record is the part of a City or Country record Lookup reads; a Country
// database's records have no city.
type record struct {
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"country"`
}

// DB is an open GeoIP database. Its methods are safe for concurrent use.
type DB struct {
	path string

	mu   sync.RWMutex // Lookup reads under it; Reload and Close swap under it
	r    *maxminddb.Reader
	mem  []byte      // the private copy r reads (privateCopy)
	seen os.FileInfo // the file last tried, even if refused; nil once gone
}

// Open reads the MaxMind DB file at path, which must hold City or Country
// records (GeoLite2-City, GeoIP2-Country, …): another kind, such as an ASN
// database, is refused, since it would place no one.
func Open(path string) (*DB, error) {
	r, mem, fi, err := load(path)
	if err != nil {
		return nil, err
	}
	return &DB{path: path, r: r, mem: mem, seen: fi}, nil
}

// load reads and checks one version of the file.
func load(path string) (*maxminddb.Reader, []byte, os.FileInfo, error) {
	mem, fi, err := privateCopy(path)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := maxminddb.OpenBytes(mem)
	if err == nil {
		err = checkType(r.Metadata.DatabaseType)
	}
	if err != nil {
		if r != nil {
			r.Close()
		}
		_ = unix.Munmap(mem)
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, mem, fi, nil
}

// checkType accepts the database types whose records carry a country:
// MaxMind's City, Country and Enterprise, and other vendors' files in
// their format (DB-IP's "DBIP-City-Lite", …).
func checkType(t string) error {
	for _, kind := range []string{"City", "Country", "Enterprise"} {
		if strings.Contains(t, kind) {
			return nil
		}
	}
	return fmt.Errorf("a database of type %q holds no locations: use a City or Country database (GeoLite2-City, GeoLite2-Country)", t)
}

// Lookup returns where ip is. ok is false for an address that is not
// global (IsGlobal), that the database does not place, or whose record
// cannot be read.
func (d *DB) Lookup(ip netip.Addr) (loc Location, ok bool) {
	ip = ip.Unmap().WithZone("")
	if !IsGlobal(ip) {
		return Location{}, false
	}
	var rec record
	d.mu.RLock()
	if d.r == nil { // closed
		d.mu.RUnlock()
		return Location{}, false
	}
	res := d.r.Lookup(ip)
	err := res.Decode(&rec)
	d.mu.RUnlock()
	if err != nil || !res.Found() {
		return Location{}, false
	}
	loc = Location{Country: rec.Country.Names.EN, CountryCode: rec.Country.ISOCode, City: rec.City.Names.EN}
	return loc, loc.String() != ""
}

// Invariant: Locate never fails a login: any input, and any trouble with
// the database, gives "" and no error. (TestInvariantLocateNeverFails)

// Locate returns where the client named by a Calling-Station-Id is, as
// "Berlin, Germany", or "" when that cannot be told.
func (d *DB) Locate(callingStationID string) string {
	ip, ok := ParseCallingStationID(callingStationID)
	if !ok {
		return ""
	}
	loc, _ := d.Lookup(ip)
	return loc.String()
}

// Describe names the database for a log line: its type and build date.
func (d *DB) Describe() string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.r == nil {
		return "closed"
	}
	m := d.r.Metadata
	return fmt.Sprintf("%s built %s", m.DatabaseType, m.BuildTime().UTC().Format(time.DateOnly))
}

// Close frees the database; lookups then find nothing.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.r == nil {
		return nil
	}
	d.r.Close()
	err := unix.Munmap(d.mem)
	d.r, d.mem = nil, nil
	return err
}

// errClosed is Reload's error on a closed DB.
var errClosed = errors.New("geoip: database closed")
