// Package enrollment is the enrollment web site: its HTTPS listener (with a
// certificate from files or a self-signed one made on first run), the
// reverse-proxy mode, security headers and cross-origin protection. The
// self-service pages, the admin console and the JSON API are built on it
// (see the web UI issue); until they land it serves a landing page, and
// devices are enrolled with `radiusmfa totp enroll`.
package enrollment
