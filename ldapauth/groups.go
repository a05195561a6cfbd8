package ldapauth

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/auth"
)

// inChainOID is AD's LDAP_MATCHING_RULE_IN_CHAIN: a filter using it has
// the server resolve nested membership, so none is done here.
const inChainOID = "1.2.840.113556.1.4.1941"

type group struct{ name, dn string }

// groups resolves the user's groups on c: the entry's group attribute, the
// group filter, then (unless the filter already used IN_CHAIN) every group
// containing one found, level by level, and on AD the primary group.
func (d *Directory) groups(ctx context.Context, c *conn, entry *ldap.Entry, username string) ([]group, error) {
	var out []group
	seen := map[string]bool{}
	add := func(dn, name string) bool {
		key := auth.DNKey(dn) // one server spells a DN one way: no full parse needed
		if seen[key] {
			return false
		}
		seen[key] = true
		if name == "" {
			name = firstRDNValue(dn)
		}
		out = append(out, group{name: name, dn: dn})
		return true
	}
	var frontier []string
	if d.cfg.GroupAttribute != "" {
		for _, dn := range entry.GetEqualFoldAttributeValues(d.cfg.GroupAttribute) {
			if add(dn, "") {
				frontier = append(frontier, dn)
			}
		}
	}
	base := d.cfg.GroupBaseDN
	if base == "" {
		base = d.cfg.BaseDN
	}
	nameAttrs := []string{d.cfg.GroupNameAttribute}
	if d.cfg.GroupFilter != "" {
		f := strings.ReplaceAll(d.cfg.GroupFilter, phDN, ldap.EscapeFilter(entry.DN))
		f = strings.ReplaceAll(f, phUsername, ldap.EscapeFilter(username))
		es, err := d.searchAll(ctx, c, base, ldap.ScopeWholeSubtree, f, nameAttrs, 0)
		if err != nil {
			return nil, fmt.Errorf("group search: %w", err)
		}
		for _, e := range es {
			if add(e.DN, e.GetEqualFoldAttributeValue(d.cfg.GroupNameAttribute)) {
				frontier = append(frontier, e.DN)
			}
		}
	}
	if d.cfg.NestedGroups && !strings.Contains(d.cfg.GroupFilter, inChainOID) {
		// OpenLDAP cannot resolve nesting: one search per level finds the
		// groups whose member (or uniqueMember) is a group of the level
		// below. seen stops cycles; maxNesting stops a runaway tree.
		for depth := 0; len(frontier) > 0 && depth < maxNesting; depth++ {
			es, err := d.searchAll(ctx, c, base, ldap.ScopeWholeSubtree, NestedGroupFilter(frontier), nameAttrs, 0)
			if err != nil {
				return nil, fmt.Errorf("nested group search: %w", err)
			}
			frontier = frontier[:0]
			for _, e := range es {
				if add(e.DN, e.GetEqualFoldAttributeValue(d.cfg.GroupNameAttribute)) {
					frontier = append(frontier, e.DN)
				}
			}
		}
		if len(frontier) > 0 {
			// Groups are left unread: a deny or MFA group among them would
			// be missed, so the login fails rather than go on without it.
			return nil, fmt.Errorf("groups nested deeper than %d levels", maxNesting)
		}
	}
	if d.cfg.Kind == KindAD && d.cfg.PrimaryGroup {
		if f, ok := primaryGroupFilter(entry); ok {
			es, err := d.searchAll(ctx, c, base, ldap.ScopeWholeSubtree, f, nameAttrs, 0)
			if err != nil {
				return nil, fmt.Errorf("primary group search: %w", err)
			}
			for _, e := range es {
				add(e.DN, e.GetEqualFoldAttributeValue(d.cfg.GroupNameAttribute))
			}
		}
	}
	return out, nil
}

// NestedGroupFilter finds the groups whose member or uniqueMember is any of
// groupDNs: one level of client-side nesting.
func NestedGroupFilter(groupDNs []string) string {
	var b strings.Builder
	b.WriteString("(|")
	for _, dn := range groupDNs {
		v := ldap.EscapeFilter(dn)
		b.WriteString("(member=" + v + ")(uniqueMember=" + v + ")")
	}
	b.WriteString(")")
	return b.String()
}

// primaryGroupFilter builds the search for the group whose SID is the
// user's SID with its last sub-authority (the RID) replaced by
// primaryGroupID: AD names the primary group only that way.
func primaryGroupFilter(e *ldap.Entry) (string, bool) {
	rid, err := strconv.ParseUint(e.GetEqualFoldAttributeValue("primaryGroupID"), 10, 32)
	sid := e.GetEqualFoldRawAttributeValue("objectSid")
	// A SID: revision, sub-authority count n, 6-byte authority, n 4-byte
	// little-endian sub-authorities.
	if err != nil || len(sid) < 12 || len(sid) != 8+4*int(sid[1]) {
		return "", false
	}
	g := append([]byte(nil), sid...)
	binary.LittleEndian.PutUint32(g[len(g)-4:], uint32(rid))
	var b strings.Builder
	b.WriteString("(&(objectClass=group)(objectSid=")
	for _, c := range g {
		fmt.Fprintf(&b, "\\%02x", c)
	}
	b.WriteString("))")
	return b.String(), true
}

// firstRDNValue is the value of a DN's first RDN (the cn of a group DN), or
// the DN itself when it does not parse.
func firstRDNValue(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return dn
	}
	return p.RDNs[0].Attributes[0].Value
}
