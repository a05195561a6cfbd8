package auth

import (
	"strings"
)

// GroupPolicy decides, from a user's groups, whether they may log in at
// all, whether they need a second factor, and which reply attributes an
// Accept carries. A group is named by its name (cn) or its full DN; both
// compare case-insensitively.
type GroupPolicy struct {
	Name string // for logs and `ldap test`; "" is the global policy
	// Require: when set, only members of at least one may log in.
	Require []string
	// Deny: members of any may not log in (checked first).
	Deny []string
	// MFAGroupsOnly asks a second factor only of members of MFARequired;
	// otherwise (the default) everyone needs one.
	MFAGroupsOnly bool
	MFARequired   []string
	// MFAExempt members log in with the password alone, whatever the mode.
	MFAExempt []string
	// Reply rules are tried in order; each that matches adds its
	// attributes, and a Final one that matches ends the list.
	Reply []ReplyRule
}

// ReplyRule grants attributes to members of any of Groups (to everyone when
// Groups is empty).
type ReplyRule struct {
	Groups     []string
	Attributes []Attribute
	Final      bool
}

// PolicyResult is what a GroupPolicy says of one identity.
type PolicyResult struct {
	Allowed bool
	// Reason is the denial (group_denied, not_in_required_group) or, when
	// allowed without a second factor, why (mfa_exempt, mfa_not_required).
	Reason      Reason
	MFARequired bool
	Attributes  []Attribute // for an Accept
}

// Evaluate applies p to id.
func (p *GroupPolicy) Evaluate(id Identity) PolicyResult {
	if inAny(id, p.Deny) {
		return PolicyResult{Reason: ReasonGroupDenied}
	}
	if len(p.Require) > 0 && !inAny(id, p.Require) {
		return PolicyResult{Reason: ReasonNotInRequiredGroup}
	}
	r := PolicyResult{Allowed: true, MFARequired: true}
	switch {
	case inAny(id, p.MFAExempt):
		r.MFARequired, r.Reason = false, ReasonMFAExempt
	case p.MFAGroupsOnly && !inAny(id, p.MFARequired):
		r.MFARequired, r.Reason = false, ReasonMFANotRequired
	}
	for _, rule := range p.Reply {
		if len(rule.Groups) > 0 && !inAny(id, rule.Groups) {
			continue
		}
		r.Attributes = append(r.Attributes, rule.Attributes...)
		if rule.Final {
			break
		}
	}
	return r
}

// inAny reports whether id is in any of groups.
func inAny(id Identity, groups []string) bool {
	for _, g := range groups {
		if IsMember(id, g) {
			return true
		}
	}
	return false
}

// IsMember reports whether id is in group g, named by cn or by DN.
func IsMember(id Identity, g string) bool {
	if strings.Contains(g, "=") {
		want := DNKey(g)
		for _, dn := range id.GroupDNs {
			if DNKey(dn) == want {
				return true
			}
		}
		return false
	}
	for _, name := range id.Groups {
		if strings.EqualFold(name, g) {
			return true
		}
	}
	return false
}

// DNKey lower-cases a DN and drops the blanks around its separators, so
// "CN=VPN Users, OU=Groups" and "cn=vpn users,ou=groups" compare equal.
func DNKey(dn string) string {
	parts := strings.Split(strings.ToLower(dn), ",")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		parts[i] = strings.TrimSpace(k) + "=" + strings.TrimSpace(v)
	}
	return strings.Join(parts, ",")
}
