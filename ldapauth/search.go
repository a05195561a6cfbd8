package ldapauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"radiusmfa/auth"
)

// Bounds of a console search.
const (
	DefaultSearchLimit = 25
	MaxSearchLimit     = 100
	MaxSearchQuery     = 64 // bytes, after trimming spaces
)

// uacAccountDisable is AD's ACCOUNTDISABLE bit of userAccountControl.
const uacAccountDisable = 0x2

var (
	// ErrSearchUnavailable is returned by Search when users bind directly
	// (bind_template): without a service account there is nothing to search
	// the directory with.
	ErrSearchUnavailable = errors.New("ldap: user search needs a service account: set ldap.bind_dn and ldap.bind_password")
	// ErrEmptyQuery and ErrQueryTooLong refuse a query before any directory
	// is asked; their text is meant for the person who typed it.
	ErrEmptyQuery   = errors.New("enter at least one character")
	ErrQueryTooLong = fmt.Errorf("the search text is longer than %d bytes", MaxSearchQuery)
)

// DirectoryUser is what a console search shows of one directory account.
type DirectoryUser struct {
	Name        string // the login name (the configured username attribute: uid / sAMAccountName)
	DN          string
	DisplayName string
	Mail        string
	Phone       string
	Disabled    bool // AD userAccountControl ACCOUNTDISABLE; false on OpenLDAP unless the config knows
}

// Search finds up to limit accounts whose login name, display name (cn or
// the display name attribute) or mail starts with query, ignoring case, as
// the directory's matching rules for those attributes do. It searches as the
// service account (bind_dn), on the servers in the configured order with the
// same failover and pools as a login, and only among the entries the
// user_filter admits. limit is clamped to 1..MaxSearchLimit, 0 meaning
// DefaultSearchLimit; it is sent as the search's size limit, so a large
// directory is not walked, and when more entries match, which of them come
// back is the server's choice. Results are sorted by Name.
//
// A query that is blank or longer than MaxSearchQuery is refused
// (ErrEmptyQuery, ErrQueryTooLong); without a service account Search
// returns ErrSearchUnavailable.
func (d *Directory) Search(ctx context.Context, query string, limit int) ([]DirectoryUser, error) {
	if d.cfg.BindDN == "" {
		return nil, ErrSearchUnavailable
	}
	query = strings.TrimSpace(query)
	switch {
	case query == "":
		return nil, ErrEmptyQuery
	case len(query) > MaxSearchQuery:
		return nil, ErrQueryTooLong
	}
	limit = searchLimit(limit)
	filter, attrs := searchFilter(d.cfg, query), d.searchAttributes()
	var entries []*ldap.Entry
	err := d.each(ctx, func(s *server) error {
		return d.withConn(ctx, s, &s.svc, d.svcBind, func(c *conn) error {
			es, err := d.searchAll(ctx, c, d.cfg.BaseDN, scopes[d.cfg.Scope], filter, attrs, limit)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
				err = nil // more matched than asked for: what came is the answer
			}
			entries = es
			return err
		})
	})
	switch {
	case errors.Is(err, errPoolWait):
		return nil, fmt.Errorf("ldap: search: %w", auth.ErrOverloaded)
	case err != nil:
		return nil, fmt.Errorf("ldap: search: %w", err)
	}
	users := d.directoryUsers(entries)
	if len(users) > limit { // a server that ignored the size limit
		users = users[:limit]
	}
	return users, nil
}

// searchLimit clamps a requested result count to 1..MaxSearchLimit.
func searchLimit(n int) int {
	if n == 0 {
		return DefaultSearchLimit
	}
	return min(max(n, 1), MaxSearchLimit)
}

// searchFilter is the filter of a console search for query: the user filter
// with {username} as a wildcard, so that it admits every account it could
// let log in, ANDed with a prefix match of the escaped query on the login
// name, cn, display name and mail.
func searchFilter(c Config, query string) string {
	prefix := ldap.EscapeFilter(query) + "*"
	var b strings.Builder
	b.WriteString("(&")
	b.WriteString(strings.ReplaceAll(c.UserFilter, phUsername, "*"))
	b.WriteString("(|")
	for _, a := range uniqueFold(c.UsernameAttribute, "cn", c.DisplayNameAttribute, c.MailAttribute) {
		b.WriteString("(" + a + "=" + prefix + ")")
	}
	b.WriteString("))")
	return b.String()
}

// searchAttributes are the attributes a search reads from each entry.
func (d *Directory) searchAttributes() []string {
	names := []string{d.cfg.UsernameAttribute, "cn", d.cfg.DisplayNameAttribute, d.cfg.MailAttribute}
	names = append(names, d.cfg.PhoneAttributes...)
	if d.cfg.Kind == KindAD {
		names = append(names, "userAccountControl")
	}
	return uniqueFold(names...)
}

// uniqueFold drops empty names and later spellings of a name already seen,
// ignoring case as LDAP does for attribute names.
func uniqueFold(names ...string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, n) }) {
			out = append(out, n)
		}
	}
	return out
}

// directoryUsers turns search entries into results sorted by Name (ignoring
// case, then exactly, then by DN). An entry without a login name is left
// out: it names no account anyone can log in as.
func (d *Directory) directoryUsers(entries []*ldap.Entry) []DirectoryUser {
	out := make([]DirectoryUser, 0, len(entries))
	for _, e := range entries {
		name := e.GetEqualFoldAttributeValue(d.cfg.UsernameAttribute)
		if name == "" {
			continue
		}
		p := d.profile(e)
		u := DirectoryUser{Name: name, DN: e.DN, DisplayName: p.DisplayName, Mail: p.Mail, Phone: p.Phone}
		if u.DisplayName == "" {
			u.DisplayName = e.GetEqualFoldAttributeValue("cn")
		}
		if d.cfg.Kind == KindAD {
			uac, err := strconv.ParseInt(e.GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
			u.Disabled = err == nil && uac&uacAccountDisable != 0
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b DirectoryUser) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			strings.Compare(a.Name, b.Name), strings.Compare(a.DN, b.DN))
	})
	return out
}
