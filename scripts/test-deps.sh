#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (radclient, oathtool)
# when they are missing, so a fresh machine passes `make test` unattended.
set -euo pipefail

need=()
command -v radclient >/dev/null 2>&1 || need+=(freeradius-utils)
command -v oathtool  >/dev/null 2>&1 || need+=(oathtool)
[ ${#need[@]} -eq 0 ] && exit 0

echo "test-deps: installing ${need[*]} (Debian packages)" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "test-deps: need root to install ${need[*]}: run 'apt-get install ${need[*]}' as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for c in radclient oathtool; do
  command -v "$c" >/dev/null 2>&1 || { echo "test-deps: $c still missing after install" >&2; exit 1; }
done
