#!/usr/bin/env bash
# Installs the Debian packages fieldmesh needs to build and test, and only
# those that are missing.  Idempotent; silent when everything is there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev libmsgpack-dev libsodium-dev liblmdb-dev libinih-dev libutf8proc-dev libzstd-dev
  libcmocka-dev libxlsxwriter-dev
  clang libclang-rt-14-dev
  libcurl4-openssl-dev libpq-dev
  libh2o-dev
  postgresql python3 openssl
  python3-msgpack python3-nacl python3-openpyxl
  iproute2 nftables
  faketime
  chromium fonts-dejavu-core curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
