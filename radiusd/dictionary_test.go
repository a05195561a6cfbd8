package radiusd

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/aruba"
	"layeh.com/radius/vendors/mikrotik"

	"radiusmfa/radiusd/vendors/cisco"
	"radiusmfa/radiusd/vendors/fortinet"
	"radiusmfa/radiusd/vendors/juniper"
	"radiusmfa/radiusd/vendors/paloalto"
)

// TestParseAttributeWire checks every known attribute's wire form against
// octets written out by hand from the vendor numbers (RFC 2865 §5.26:
// vendor id, vendor type, vendor length, value), then reads the value back
// through the generated dictionary.
func TestParseAttributeWire(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		typ         byte
		prefix      string // hex of Data before the value
		get         func(*radius.Packet) string
	}{
		{"Class", "OU=VPN-Admins;", 25, "", rfc2865.Class_GetString},
		{"Filter-Id", "acl-vpn", 11, "", rfc2865.FilterID_GetString},
		// Cisco 9; type 1; length 2+17.
		{"Cisco-AVPair", "shell:priv-lvl=15", 26, "00000009" + "01" + "13", cisco.CiscoAVPair_GetString},
		// Fortinet 12356 = 0x3044.
		{"Fortinet-Group-Name", "vpn-admins", 26, "00003044" + "01" + "0c", fortinet.FortinetGroupName_GetString},
		// Palo Alto 25461 = 0x6375.
		{"PaloAlto-Admin-Role", "superuser", 26, "00006375" + "01" + "0b", paloalto.PaloAltoAdminRole_GetString},
		{"PaloAlto-User-Group", "gp-users", 26, "00006375" + "05" + "0a", paloalto.PaloAltoUserGroup_GetString},
		// Juniper 2636 = 0x0a4c; Local-Group-Name is type 46 = 0x2e.
		{"Juniper-Local-User-Name", "read-only", 26, "00000a4c" + "01" + "0b", juniper.JuniperLocalUserName_GetString},
		{"Juniper-Local-Group-Name", "ops", 26, "00000a4c" + "2e" + "05", juniper.JuniperLocalGroupName_GetString},
		// Aruba 14823 = 0x39e7, MikroTik 14988 = 0x3a8c.
		{"Aruba-User-Role", "employee", 26, "000039e7" + "01" + "0a", aruba.ArubaUserRole_GetString},
		{"Aruba-Admin-Role", "root", 26, "000039e7" + "04" + "06", aruba.ArubaAdminRole_GetString},
		{"Mikrotik-Group", "full", 26, "00003a8c" + "03" + "06", mikrotik.MikrotikGroup_GetString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAttribute(tc.name, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if a.Name != tc.name || a.Value != tc.value || a.Type != tc.typ {
				t.Errorf("got %s = %q type %d, want %s = %q type %d", a.Name, a.Value, a.Type, tc.name, tc.value, tc.typ)
			}
			if got, want := hex.EncodeToString(a.Data), tc.prefix+hex.EncodeToString([]byte(tc.value)); got != want {
				t.Errorf("data %s\nwant %s", got, want)
			}
			p := &radius.Packet{Attributes: radius.Attributes{{Type: radius.Type(a.Type), Attribute: a.Data}}}
			if got := tc.get(p); got != tc.value {
				t.Errorf("dictionary reads back %q", got)
			}
		})
	}
}

func TestParseAttributeNameIgnoresCase(t *testing.T) {
	for _, name := range []string{"cisco-avpair", "CISCO-AVPAIR", "Cisco-AvPair"} {
		a, err := ParseAttribute(name, "shell:priv-lvl=1")
		if err != nil || a.Name != "Cisco-AVPair" || a.Type != 26 {
			t.Errorf("%s: %+v, %v", name, a, err)
		}
	}
}

func TestParseAttributeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        []string // substrings of the error
	}{
		{"Foo-Bar", "x", []string{`unknown reply attribute "Foo-Bar"`, "known: Aruba-Admin-Role, Aruba-User-Role, Cisco-AVPair, Class, Filter-Id,"}},
		{"", "x", []string{`unknown reply attribute ""`}},
		{" Class", "x", []string{`unknown reply attribute " Class"`}},
		{"Session-Timeout", "3600", []string{`unknown reply attribute "Session-Timeout"`}}, // integers are out of scope
		{"Reply-Message", "hi", []string{"Reply-Message is written by radiusmfa itself"}},
		{"state", "x", []string{"State is written by radiusmfa itself"}},
		{"Message-Authenticator", "x", []string{"Message-Authenticator is written by radiusmfa itself"}},
		{"Proxy-State", "x", []string{"Proxy-State is written by radiusmfa itself"}},
		{"Cisco-AVPair", "", []string{"reply attribute Cisco-AVPair: empty value"}},
		{"class", "", []string{"reply attribute Class: empty value"}},
		{"Cisco-AVPair", strings.Repeat("a", 248), []string{"Cisco-AVPair: value is 248 octets, at most 247 allowed"}},
		{"Fortinet-Group-Name", strings.Repeat("é", 124), []string{"value is 248 octets, at most 247 allowed"}},
		{"Class", strings.Repeat("a", 254), []string{"Class: value is 254 octets, at most 253 allowed"}},
		{"Filter-Id", "acl\x00x", []string{"Filter-Id: value contains control character 0x00 at octet 3"}},
		{"PaloAlto-User-Group", "a\nb", []string{"control character 0x0a at octet 1"}},
		{"PaloAlto-User-Group", "a\x7f", []string{"control character 0x7f at octet 1"}},
		{"Juniper-Local-User-Name", "ops\xff", []string{"Juniper-Local-User-Name: value is not valid UTF-8"}},
	} {
		a, err := ParseAttribute(tc.name, tc.value)
		if err == nil {
			t.Errorf("ParseAttribute(%q, %.20q) = %+v, want an error", tc.name, tc.value, a)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseAttribute(%q, %.20q): %q lacks %q", tc.name, tc.value, err, want)
			}
		}
		if !strings.HasPrefix(err.Error(), "radiusd: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
}

// The longest values fill a 255-octet attribute exactly.
func TestParseAttributeLongestValues(t *testing.T) {
	for name, n := range map[string]int{"Class": 253, "Filter-Id": 253, "Cisco-AVPair": 247, "Juniper-Local-Group-Name": 247} {
		a, err := ParseAttribute(name, strings.Repeat("v", n))
		if err != nil {
			t.Errorf("%s of %d octets: %v", name, n, err)
			continue
		}
		if len(a.Data) != maxAttrValue {
			t.Errorf("%s: %d data octets, want %d", name, len(a.Data), maxAttrValue)
		}
		if a.Type == 26 && int(a.Data[5]) != 2+n {
			t.Errorf("%s: vendor length %d, want %d", name, a.Data[5], 2+n)
		}
	}
}

func TestAttributeNames(t *testing.T) {
	names := AttributeNames()
	if !slices.IsSorted(names) {
		t.Errorf("not sorted: %v", names)
	}
	for _, want := range []string{"Class", "Filter-Id", "Cisco-AVPair", "Fortinet-Group-Name", "PaloAlto-Admin-Role",
		"PaloAlto-User-Group", "Juniper-Local-User-Name", "Juniper-Local-Group-Name"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s missing from %v", want, names)
		}
	}
	for _, name := range names {
		if a, err := ParseAttribute(name, "x"); err != nil || a.Name != name {
			t.Errorf("listed name %s: %+v, %v", name, a, err)
		}
		if slices.ContainsFunc(ownAttributes, func(n string) bool { return strings.EqualFold(n, name) }) {
			t.Errorf("%s is both grantable and written by the reply itself", name)
		}
	}
	names[0] = "changed" // a copy: the caller cannot alter the table
	if AttributeNames()[0] == "changed" {
		t.Error("AttributeNames returns shared storage")
	}
}

// FuzzParseAttribute checks that whatever ParseAttribute accepts, the reply
// encoder accepts too and radius.ParseAttributes reads back unchanged.
func FuzzParseAttribute(f *testing.F) {
	for _, seed := range [][2]string{
		{"Cisco-AVPair", "shell:priv-lvl=15"}, {"class", "OU=x;"}, {"Reply-Message", "x"},
		{"Filter-Id", "a\x00"}, {"PaloAlto-User-Group", strings.Repeat("é", 124)}, {"Nope", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		a, err := ParseAttribute(name, value)
		if err != nil {
			return
		}
		if !grantableWire(a) || a.Value != value || !strings.EqualFold(a.Name, name) {
			t.Fatalf("ParseAttribute(%q, %q) = %+v", name, value, a)
		}
		b := appendAttr(nil, a.Type, a.Data)
		attrs, err := radius.ParseAttributes(b)
		if err != nil || len(attrs) != 1 || !slices.Equal(attrs[0].Attribute, a.Data) {
			t.Fatalf("%s: %x does not parse back: %v", a.Name, b, err)
		}
		if a.Type == byte(rfc2865.VendorSpecific_Type) {
			if _, vsa, err := radius.VendorSpecific(a.Data); err != nil || int(vsa[1]) != len(vsa) || string(vsa[2:]) != value {
				t.Fatalf("%s: malformed vendor attribute %x", a.Name, a.Data)
			}
		}
	})
}
