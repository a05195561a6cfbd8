#!/usr/bin/env bash
# Installs the Debian packages the test suite drives when they are missing, so
# a fresh machine passes `make test` unattended:
#   radclient (freeradius-utils), oathtool, OpenLDAP slapd + ldap-utils,
#   a Samba Active Directory domain controller, openssl (test CAs), a
#   headless Chromium with its driver for the enrollment site's browser tests,
#   and the ocserv VPN server (RADIUS through radcli) with the openconnect
#   client, which log in through radiusmfa's Access-Challenge prompts.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have radclient  || need+=(freeradius-utils)
have oathtool   || need+=(oathtool)
have openssl    || need+=(openssl)
have slapd      || need+=(slapd)
have ldapsearch || need+=(ldap-utils)
have slapadd    || need+=(slapd)
have chromium        || need+=(chromium)
have chromedriver    || need+=(chromium-driver)
have ocserv          || need+=(ocserv)
have openconnect     || need+=(openconnect)
if ! have samba || ! have samba-tool || [ ! -d /usr/share/samba/setup ]; then
  need+=(samba samba-ad-dc samba-dsdb-modules samba-vfs-modules samba-ad-provision winbind ldb-tools attr)
fi
[ ${#need[@]} -eq 0 ] && exit 0

# One name once, in order.
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk '!seen[$0]++')
echo "test-deps: installing ${need[*]} (Debian packages)" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "test-deps: need root to install them: run 'apt-get install ${need[*]}' as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for c in radclient oathtool openssl slapd ldapsearch samba samba-tool chromium chromedriver ocserv openconnect; do
  have "$c" || { echo "test-deps: $c still missing after install" >&2; exit 1; }
done
