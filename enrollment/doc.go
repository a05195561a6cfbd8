// Package enrollment is the enrollment web site: its HTTPS listener (with a
// certificate from files or a self-signed one made on first run), the
// reverse-proxy mode, security headers and cross-origin protection; the
// sessions; and the pages: sign-in through the engine (password and code, as
// a RADIUS login), a user's own devices, and enrolling an authenticator app
// (confirmed with a first code before anything is stored). Backup codes,
// device management, the admin console and the JSON API are to come.
package enrollment
