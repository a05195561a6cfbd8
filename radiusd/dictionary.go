package radiusd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/aruba"
	"layeh.com/radius/vendors/mikrotik"

	"radiusmfa/auth"
	"radiusmfa/radiusd/vendors/cisco"
	"radiusmfa/radiusd/vendors/fortinet"
	"radiusmfa/radiusd/vendors/juniper"
	"radiusmfa/radiusd/vendors/paloalto"
)

// maxVSAValue is the longest value of a vendor-specific attribute: 255
// octets less the attribute header (2), the vendor id (4) and the vendor
// type and length (2).
const maxVSAValue = 247

// grantable is an attribute policy may grant on an Access-Accept: its
// canonical name, layeh's generated encoder for it and the longest value
// that encoder can carry.
type grantable struct {
	name string
	add  func(p *radius.Packet, value string) error
	max  int
}

// grantables are the attributes ParseAttribute knows, all of string type.
// Each is encoded by a layeh dictionary: rfc2865, layeh's own vendor
// packages, or ours under vendors/ (generated from FreeRADIUS-format files).
var grantables = []grantable{
	{"Class", rfc2865.Class_AddString, maxAttrValue},
	{"Filter-Id", rfc2865.FilterID_AddString, maxAttrValue},
	{"Cisco-AVPair", cisco.CiscoAVPair_AddString, maxVSAValue},
	{"Fortinet-Group-Name", fortinet.FortinetGroupName_AddString, maxVSAValue},
	{"PaloAlto-Admin-Role", paloalto.PaloAltoAdminRole_AddString, maxVSAValue},
	{"PaloAlto-User-Group", paloalto.PaloAltoUserGroup_AddString, maxVSAValue},
	{"Juniper-Local-User-Name", juniper.JuniperLocalUserName_AddString, maxVSAValue},
	{"Juniper-Local-Group-Name", juniper.JuniperLocalGroupName_AddString, maxVSAValue},
	{"Aruba-User-Role", aruba.ArubaUserRole_AddString, maxVSAValue},
	{"Aruba-Admin-Role", aruba.ArubaAdminRole_AddString, maxVSAValue},
	{"Mikrotik-Group", mikrotik.MikrotikGroup_AddString, maxVSAValue},
}

// ownAttributes are the attributes encodeReply writes itself: granting one
// would duplicate or contradict it.
var ownAttributes = []string{"Reply-Message", "State", "Message-Authenticator", "Proxy-State"}

// ParseAttribute builds the reply attribute name = value that a policy
// grants on an Access-Accept, encoded through layeh's dictionaries. The
// name is matched without regard to case (AttributeNames lists them); the
// returned Name is the canonical spelling. Only string attributes are
// known. The value is text: not empty, valid UTF-8 without control
// characters, at most 253 octets (247 for a vendor attribute).
//
// Class is sent as the text given. Cisco ASA reads a group policy from it
// in the form "OU=<group-policy>;" (or "OU=<group-policy>"); most other
// NASes only echo Class back in accounting.
//
// Errors name the attribute and the problem, for configuration validation.
func ParseAttribute(name, value string) (auth.Attribute, error) {
	i := slices.IndexFunc(grantables, func(g grantable) bool { return strings.EqualFold(g.name, name) })
	if i < 0 {
		if j := slices.IndexFunc(ownAttributes, func(n string) bool { return strings.EqualFold(n, name) }); j >= 0 {
			return auth.Attribute{}, fmt.Errorf("radiusd: reply attribute %s is written by radiusmfa itself and cannot be granted", ownAttributes[j])
		}
		return auth.Attribute{}, fmt.Errorf("radiusd: unknown reply attribute %q (known: %s)", name, strings.Join(AttributeNames(), ", "))
	}
	g := grantables[i]
	if err := checkValue(value, g.max); err != nil {
		return auth.Attribute{}, fmt.Errorf("radiusd: reply attribute %s: %w", g.name, err)
	}
	var p radius.Packet // scratch: only its attribute list is used
	if err := g.add(&p, value); err != nil {
		return auth.Attribute{}, fmt.Errorf("radiusd: reply attribute %s: %w", g.name, err)
	}
	if len(p.Attributes) != 1 { // unreachable with generated encoders, kept as a guard
		return auth.Attribute{}, fmt.Errorf("radiusd: reply attribute %s: dictionary encoded %d attributes, want 1", g.name, len(p.Attributes))
	}
	a := p.Attributes[0]
	return auth.Attribute{Name: g.name, Value: value, Type: byte(a.Type), Data: a.Attribute}, nil
}

// checkValue reports why value cannot be a text attribute of at most limit
// octets. RFC 2865 §5 forbids empty values; control characters (NUL above
// all, which C-based NASes read as the end) are never meant in a role or
// group name and would only show up garbled in the NAS's logs.
func checkValue(value string, limit int) error {
	switch {
	case value == "":
		return errors.New("empty value")
	case len(value) > limit:
		return fmt.Errorf("value is %d octets, at most %d allowed", len(value), limit)
	case !utf8.ValidString(value):
		return errors.New("value is not valid UTF-8")
	}
	if i := strings.IndexFunc(value, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return fmt.Errorf("value contains control character 0x%02x at octet %d", value[i], i)
	}
	return nil
}

// AttributeNames returns the canonical names of the attributes
// ParseAttribute knows, sorted.
func AttributeNames() []string {
	names := make([]string, len(grantables))
	for i, g := range grantables {
		names[i] = g.name
	}
	slices.Sort(names)
	return names
}
