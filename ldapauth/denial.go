package ldapauth

import (
	"errors"
	"log/slog"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/auth"
)

// adSubCode finds Active Directory's reason in a bind error's diagnostic
// message: "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext
// error, data 52e, v3839".
var adSubCode = regexp.MustCompile(`\bdata ([0-9a-fA-F]{3,8})\b`)

// adDenials maps AD's sub-codes to a reason and the reply. AD reports 52e
// (wrong password) and 525 (no such user) alike and before anything else,
// so both are the generic failure; so is 775 (locked), which AD reports
// whatever the password. The others come only with the right password.
var adDenials = map[string]struct {
	reason auth.Reason
	msg    string
}{
	"52e": {auth.ReasonBadCredentials, ""},
	"525": {auth.ReasonBadCredentials, ""},
	"530": {auth.ReasonLogonRestricted, auth.MsgLogonRestricted},
	"531": {auth.ReasonLogonRestricted, auth.MsgLogonRestricted},
	"532": {auth.ReasonPasswordExpired, auth.MsgPasswordExpired},
	"533": {auth.ReasonAccountDisabled, auth.MsgAccountDisabled},
	"701": {auth.ReasonAccountExpired, auth.MsgAccountExpired},
	"773": {auth.ReasonMustChangePassword, auth.MsgMustChangePassword},
	"775": {auth.ReasonDirectoryLocked, ""},
}

// Behera password policy errors (draft-behera-ldap-password-policy).
const (
	ppPasswordExpired  = 0
	ppAccountLocked    = 1
	ppChangeAfterReset = 2
)

// denialFor explains a refused user bind: a reason for the log and, when the
// directory says the password was right, a message for the user.
func denialFor(err error, policy *ldap.ControlBeheraPasswordPolicy, dn string, log *slog.Logger) auth.Identity {
	id := auth.Identity{DN: dn, Reason: auth.ReasonBadCredentials}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return id
	}
	if le.ResultCode != ldap.LDAPResultInvalidCredentials {
		// A bind refused for another cause (strong authentication
		// required, a constraint) is a misconfiguration worth a line.
		log.Warn("ldap: user bind refused", slog.Int("code", int(le.ResultCode)), slog.Any("err", err))
		return id
	}
	if policy != nil {
		switch policy.Error {
		case ppPasswordExpired:
			id.Reason, id.Message = auth.ReasonPasswordExpired, auth.MsgPasswordExpired
		case ppAccountLocked:
			id.Reason = auth.ReasonDirectoryLocked
		}
		return id
	}
	if m := adSubCode.FindStringSubmatch(le.Err.Error()); m != nil {
		if d, ok := adDenials[strings.ToLower(m[1])]; ok {
			id.Reason, id.Message = d.reason, d.msg
		}
	}
	return id
}

// policyDenial turns the policy state of a successful OpenLDAP bind into a
// denial: a password reset by an administrator must be changed first.
func policyDenial(policy *ldap.ControlBeheraPasswordPolicy) auth.Identity {
	if policy != nil && policy.Error == ppChangeAfterReset {
		return auth.Identity{Reason: auth.ReasonMustChangePassword, Message: auth.MsgMustChangePassword}
	}
	return auth.Identity{}
}
