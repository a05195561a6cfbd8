// Package geoiptest writes small MaxMind DB files for tests, with
// github.com/maxmind/mmdbwriter: records shaped as GeoIP2 City records
// (city and country names in English, the country's ISO code), under any
// database type, so a test can also make a Country database or a database
// of the wrong kind. It is for tests only.
package geoiptest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network's record; City "" leaves the city out, as in a
// Country database.
type Place struct {
	Network     string // CIDR
	City        string
	Country     string
	CountryCode string
}

// Places are records for the documentation ranges tests use, and for
// private ranges, which a real database does not place and the server must
// not look up.
var Places = []Place{
	{Network: "203.0.113.0/24", City: "Berlin", Country: "Germany", CountryCode: "DE"},
	{Network: "198.51.100.0/24", Country: "France", CountryCode: "FR"}, // no city
	{Network: "2001:db8::/32", City: "Amsterdam", Country: "Netherlands", CountryCode: "NL"},
	{Network: "10.0.0.0/8", City: "Private", Country: "Nowhere", CountryCode: "ZZ"},
	{Network: "192.168.0.0/16", City: "Private", Country: "Nowhere", CountryCode: "ZZ"},
	{Network: "fc00::/7", City: "Private", Country: "Nowhere", CountryCode: "ZZ"},
}

// Write writes a database of dbType ("GeoLite2-City", "GeoLite2-Country",
// "GeoLite2-ASN", …) holding places to path, through a temporary file
// renamed over it, as geoipupdate replaces a database.
func Write(path, dbType string, places []Place) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, Languages: []string{"en"},
		Description: map[string]string{"en": "radiusmfa test database"}, RecordSize: 24,
		IncludeReservedNetworks: true})
	if err != nil {
		return err
	}
	for _, p := range places {
		_, network, err := net.ParseCIDR(p.Network)
		if err != nil {
			return err
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{
			"iso_code": mmdbtype.String(p.CountryCode),
			"names":    mmdbtype.Map{"en": mmdbtype.String(p.Country)},
		}}
		if p.City != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.City)}}
		}
		if err := tree.Insert(network, rec); err != nil {
			return fmt.Errorf("%s: %w", p.Network, err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".geoiptest-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
