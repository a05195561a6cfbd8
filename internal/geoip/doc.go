// Package geoip places a login's client address on the map for the push
// approver: "Berlin, Germany" beside the Calling-Station-Id the phone shows.
//
// It reads a MaxMind DB file of the City or Country kind (GeoLite2, GeoIP2,
// or a compatible one) with github.com/oschwald/maxminddb-golang/v2. The
// file is copied into memory outside the Go heap when opened, so it adds
// nothing to the garbage collector's work, and a file copied over in place
// later cannot disturb lookups; DB.Reload and DB.Watch pick up a new file.
//
// Nothing here may fail a login: an address that cannot be parsed, that is
// not global (private, loopback, link-local, CGNAT, …) or that the database
// does not know gives no location, and the push goes out without one.
package geoip
