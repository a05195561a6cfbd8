package config

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// The radius section: listen addresses and the client table.

func (c *Config) validateRadius(p *problems) {
	r := &c.Radius
	if len(r.Listen) == 0 {
		p.addf("radius.listen", "at least one address is required")
	}
	seen := make(map[string]string) // canonical address → key that claimed it
	p.listenAddrs("radius.listen", r.Listen, seen)
	p.listenAddrs("radius.accounting_listen", r.AccountingListen, seen)

	p.positiveDuration("radius.request_timeout", r.RequestTimeout)
	p.positiveDuration("radius.reply_cache_ttl", r.ReplyCacheTTL)
	p.positiveDuration("radius.unknown_client_log_interval", r.UnknownClientLogInterval)
	if r.MaxInFlight <= 0 {
		p.addf("radius.max_in_flight", "must be at least 1, got %d", r.MaxInFlight)
	}
}

// listenAddrs checks a list of UDP listen addresses; seen spots the same
// address twice, which could not be bound.
func (p *problems) listenAddrs(key string, addrs []string, seen map[string]string) {
	for i, addr := range addrs {
		itemKey := fmt.Sprintf("%s[%d]", key, i)
		canon, err := parseListen(addr)
		if err != nil {
			p.addf(itemKey, "%v", err)
			continue
		}
		if strings.HasSuffix(canon, ":0") {
			continue // every port-0 listener gets its own port
		}
		if first, dup := seen[canon]; dup {
			p.addf(itemKey, "%s is already listed as %s", addr, first)
			continue
		}
		seen[canon] = itemKey
	}
}

// maxSecretFileSize bounds what a secret_file read may return: a RADIUS secret
// is a short string, and a mistaken path to a large file should fail fast.
const maxSecretFileSize = 64 << 10

// validateClients checks the client table, writes each network back in its
// normalised form and reads secret files. radiusd drops every request from an
// address no client claims, so a table with no client is an error.
func (c *Config) validateClients(p *problems) {
	if len(c.Radius.Clients) == 0 {
		p.addf("radius.clients", "at least one client is required")
	}
	names := make(map[string]int)                // name → index of its first client
	claimed := make(map[netip.Prefix]networkKey) // normalised prefix → who listed it
	for i := range c.Radius.Clients {
		cl := &c.Radius.Clients[i]
		if strings.TrimSpace(cl.Name) == "" {
			p.addf(clientKey(i, "", "name"), "is required")
		} else if first, dup := names[cl.Name]; dup {
			p.addf(clientKey(i, cl.Name, "name"), "is already used by radius.clients[%d]", first)
		} else {
			names[cl.Name] = i
		}

		if len(cl.Networks) == 0 {
			p.addf(clientKey(i, cl.Name, "networks"), "at least one network is required")
		}
		for j := range cl.Networks {
			c.claimNetwork(p, i, j, claimed)
		}

		c.validateSecret(p, i)
		p.oneOf(clientKey(i, cl.Name, "require_message_authenticator"), cl.RequireMessageAuthenticator, messageAuthModes)
		if cl.Challenge != "" { // "" is auto (a config built in code)
			p.oneOf(clientKey(i, cl.Name, "challenge"), cl.Challenge, challengeModes)
		}
		if cl.NumberMatching && cl.Challenge != "challenge" {
			p.addf(clientKey(i, cl.Name, "number_matching"), `needs challenge: "challenge" (the number is shown in the menu's next prompt), got challenge %q`, cl.Challenge)
		}
		if cl.PushTimeout != 0 && (cl.PushTimeout < 5*time.Second || cl.PushTimeout > 5*time.Minute) {
			p.addf(clientKey(i, cl.Name, "push_timeout"), "must be from 5s to 5m, got %s", cl.PushTimeout)
		}
		if cl.RequestTimeout != 0 && cl.PushTimeout != 0 && cl.RequestTimeout <= cl.PushTimeout {
			p.addf(clientKey(i, cl.Name, "request_timeout"), "must be longer than push_timeout (%s), got %s", cl.PushTimeout, cl.RequestTimeout)
		}
	}
}

// networkKey names one network of one client, for duplicate messages.
type networkKey struct{ client, network int }

// claimNetwork normalises networks[j] of client i in place and records it in
// claimed. The same prefix listed twice, by two clients or by one, is an
// error: radiusd compares the normalised prefixes and would refuse to start.
// Nested prefixes are fine; the longest match decides.
func (c *Config) claimNetwork(p *problems, i, j int, claimed map[netip.Prefix]networkKey) {
	cl := &c.Radius.Clients[i]
	key := clientKey(i, cl.Name, fmt.Sprintf("networks[%d]", j))
	written := cl.Networks[j]
	prefix, err := parseNetwork(written)
	if err != nil {
		p.addf(key, "%v", err)
		return
	}
	cl.Networks[j] = prefix.String()
	if owner, dup := claimed[prefix]; dup {
		other := c.Radius.Clients[owner.client]
		what := prefix.String()
		if written != what {
			what = fmt.Sprintf("%q (%s)", written, prefix)
		}
		p.addf(key, "%s is already claimed by %s", what,
			clientKey(owner.client, other.Name, fmt.Sprintf("networks[%d]", owner.network)))
		return
	}
	claimed[prefix] = networkKey{i, j}
}

// validateSecret fills the client's Secret from its secret_file, if any, and
// checks that a secret is there.
func (c *Config) validateSecret(p *problems, i int) {
	cl := &c.Radius.Clients[i]
	if cl.SecretFile != "" {
		secret, err := readSecretFile(cl.SecretFile)
		if err != nil {
			p.addf(clientKey(i, cl.Name, "secret_file"), "%v", err)
			return
		}
		cl.Secret = secret
	}
	if cl.Secret == "" {
		p.addf(clientKey(i, cl.Name, "secret"), "is required (or secret_file)")
	}
}

// readSecretFile returns the file's content without its trailing line break.
// It refuses anything but a regular file (after symlinks), so a path to a
// device or pipe cannot block startup.
func readSecretFile(path string) (string, error) {
	info, err := os.Stat(path) // before Open, which would block on a FIFO
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxSecretFileSize {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFileSize)
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

// parseListen checks a listen address: host:port with a numeric port and an
// IPv6 host in brackets. The host may be empty (every address), an IP address
// or a host name. Port 0, which asks the kernel for a free port, is allowed
// because tests bind ephemeral ports; it makes no sense in production.
// It returns the address in a canonical form, for spotting duplicates.
func parseListen(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
			return "", fmt.Errorf("%q is not host:port (write IPv6 addresses in brackets, e.g. [::1]:1812)", addr)
		}
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	switch {
	case host == "":
	case strings.HasPrefix(addr, "["):
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return "", fmt.Errorf("%q: %q in brackets is not an IPv6 address", addr, host)
		}
		host = ip.String()
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.String()
		} else if !isHostName(host) {
			return "", fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
		} else {
			host = strings.ToLower(host)
		}
	}
	return net.JoinHostPort(host, strconv.FormatUint(n, 10)), nil
}

// isHostName reports whether s is a syntactically valid DNS name.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// parseNetwork reads a client network: a CIDR prefix, or a bare address,
// which stands for itself alone (/32 or /128). It returns the prefix as
// radiusd matches it: an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) becomes
// plain IPv4 (10.0.0.0/8), because radiusd unmaps source addresses before
// looking them up. A prefix with host bits set is refused rather than masked,
// because it is usually a mistyped address or length.
func parseNetwork(s string) (netip.Prefix, error) {
	var prefix netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if prefix, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix or IP address", s)
		}
	} else {
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix or IP address", s)
		}
		prefix = netip.PrefixFrom(ip, ip.BitLen())
	}
	ip := prefix.Addr()
	if ip.Is4In6() && prefix.Bits() < 96 {
		return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped prefix must be /96 or longer", s)
	}
	if prefix != prefix.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, prefix.Masked())
	}
	if ip.Is4In6() {
		prefix = netip.PrefixFrom(ip.Unmap(), prefix.Bits()-96)
	}
	return prefix.Masked(), nil
}

// clientKey names a client, or one of its fields, in a message:
// `radius.clients[2].secret (vpn)`.
func clientKey(i int, name, field string) string {
	key := fmt.Sprintf("radius.clients[%d]", i)
	if field != "" {
		key += "." + field
	}
	if name != "" {
		key += " (" + name + ")"
	}
	return key
}
