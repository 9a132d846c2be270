#!/usr/bin/env bash
# Installs the Debian packages the test services need (PostgreSQL 15, Redis, memcached, OpenStack Swift with s3api,
# openssl, curl; Chromium for the console's browser tests). Quick no-op when everything is present. Run as root; never starts a service (see scripts/services.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(postgresql redis-server memcached swift swift-proxy swift-account swift-container swift-object openssl curl chromium)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system: missing ${missing[*]}; run as root (sudo bash scripts/install-system.sh)" >&2
  exit 1
fi
echo "install-system: installing ${missing[*]}"
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" </dev/null
echo "install-system: done"
