// Package enrollment is the enrollment web site: its HTTPS listener (with a
// certificate from files or a self-signed one made on first run), the
// reverse-proxy mode, security headers and cross-origin protection; the
// sessions; and the pages: sign-in through the engine (password and code, as
// a RADIUS login) and a user's own devices. Enrollment on the site, the
// admin console and the JSON API are to come; devices are enrolled with
// `radiusmfa totp enroll` meanwhile.
package enrollment
