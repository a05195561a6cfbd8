// Package ldapauth is the primary authenticator for LDAP directories and
// Active Directory: it implements auth.Authenticator with exactly one user
// bind per login attempt.
//
// A login finds the user with the service account (search-then-bind) or
// binds directly through a template, then reads the user's groups (memberOf,
// groupOfNames, groupOfUniqueNames, posixGroup, nested groups; on AD
// LDAP_MATCHING_RULE_IN_CHAIN and the primary group) and contact attributes.
//
// Connections are pooled per server and per use: service connections stay
// bound as the service account; user binds happen only on connections kept
// for user binds, so a connection bound as one user never serves a search
// or another user's request as that user. Servers are tried in order (or
// round robin); a server that fails is skipped for a back-off period, and
// when every server fails the login fails closed.
//
// Search finds accounts by prefix for the admin console, as the service
// account, within the user filter, and through the same servers and pools.
//
// go-ldap takes no context, so every step gets a deadline of its own: the
// smaller of the configured timeout and what is left of the request's.
package ldapauth
