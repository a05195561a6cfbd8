// Package enrollment will hold the self-service enrollment web UI and the
// admin console. It is empty until the web UI issue lands; enrollment is done
// with `radiusmfa totp enroll` meanwhile.
package enrollment
