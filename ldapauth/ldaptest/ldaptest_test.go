package ldaptest

import (
	"github.com/go-ldap/ldap/v3"
)

// ppolicyBind binds with the password policy request control and returns
// the response control (nil when the server sent none) and the bind error.
func ppolicyBind(conn *ldap.Conn, dn, pw string) (*ldap.ControlBeheraPasswordPolicy, error) {
	res, err := conn.SimpleBind(&ldap.SimpleBindRequest{
		Username: dn, Password: pw,
		Controls: []ldap.Control{ldap.NewControlBeheraPasswordPolicy()},
	})
	if res == nil {
		return nil, err
	}
	c, _ := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy)
	return c, err
}
