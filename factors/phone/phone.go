// Package phone parses, checks and shows the phone numbers that text
// message and voice codes go to. A number is kept in E.164 form
// ("+15855550123"), valid for its country by the libphonenumber metadata
// (github.com/nyaruka/phonenumbers), and limited to the countries an admin
// allows when a list is set. It is shown to users masked, with its last
// four digits only.
package phone

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Number is a phone number in E.164 form, as Parse returns it.
type Number string

// Errors of Parse. Each is wrapped with the number's details where that
// helps the person typing it.
var (
	ErrInvalid           = errors.New("phone: not a valid phone number")
	ErrCountryNotAllowed = errors.New("phone: numbers of this country are not allowed")
)

// maxInput bounds what Parse reads: a number with generous punctuation
// fits in far less.
const maxInput = 64

// Rules say how typed numbers are read and which are accepted.
type Rules struct {
	// DefaultRegion is the country (ISO 3166-1 alpha-2, "US") of a number
	// typed without its "+" and country code; "" requires the "+".
	DefaultRegion string
	// Allowed lists the countries whose numbers are accepted (ISO 3166-1
	// alpha-2); empty allows every country.
	Allowed []string
}

// Check reports whether the rules themselves are usable: every region
// code known to the metadata.
func (r Rules) Check() error {
	var errs []error
	known := func(rc string) bool { return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(rc)) != 0 }
	if r.DefaultRegion != "" && !known(r.DefaultRegion) {
		errs = append(errs, fmt.Errorf("default region %q is not a known country code (ISO 3166-1 alpha-2, such as US)", r.DefaultRegion))
	}
	for _, rc := range r.Allowed {
		if !known(rc) {
			errs = append(errs, fmt.Errorf("allowed country %q is not a known country code (ISO 3166-1 alpha-2, such as US)", rc))
		}
	}
	return errors.Join(errs...)
}

// Parse reads a number as typed ("+1 585-555-0123", "(585) 555-0123" with
// DefaultRegion US, "+44 7911 123456") and returns it in E.164 form. It
// refuses a number that is not valid for its country (ErrInvalid) and one
// of a country the rules do not allow (ErrCountryNotAllowed).
func (r Rules) Parse(typed string) (Number, error) {
	s := strings.TrimSpace(typed)
	if s == "" || len(s) > maxInput {
		return "", ErrInvalid
	}
	region := strings.ToUpper(r.DefaultRegion)
	if region == "" && !strings.HasPrefix(s, "+") {
		return "", fmt.Errorf("%w: start it with + and the country code, such as +1 or +44", ErrInvalid)
	}
	if region == "" {
		region = "ZZ" // unknown: the number must carry its country code
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", ErrInvalid
	}
	country := phonenumbers.GetRegionCodeForNumber(n)
	if len(r.Allowed) > 0 && !slices.ContainsFunc(r.Allowed, func(a string) bool { return strings.EqualFold(a, country) }) {
		return "", fmt.Errorf("%w (%s)", ErrCountryNotAllowed, country)
	}
	return Number(phonenumbers.Format(n, phonenumbers.E164)), nil
}

// Country is the number's country (ISO 3166-1 alpha-2), "" when unknown.
func (n Number) Country() string {
	p, err := phonenumbers.Parse(string(n), "ZZ")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(p)
}

// Mask shows n with all but its last four digits hidden: "•••-•••-3816"
// for a number of the North American plan (+1), "+44 ••••••3456"
// elsewhere (the country code, then a bullet for each hidden digit). A
// string that is not in E.164 form is hidden whole.
func (n Number) Mask() string {
	p, err := phonenumbers.Parse(string(n), "ZZ")
	if err != nil || !strings.HasPrefix(string(n), "+") {
		return "•••"
	}
	national := phonenumbers.GetNationalSignificantNumber(p)
	if len(national) <= 4 {
		return "•••"
	}
	last := national[len(national)-4:]
	cc := p.GetCountryCode()
	if cc == 1 && len(national) == 10 {
		return "•••-•••-" + last
	}
	return fmt.Sprintf("+%d %s%s", cc, strings.Repeat("•", len(national)-4), last)
}
