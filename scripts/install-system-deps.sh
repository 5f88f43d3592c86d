#!/usr/bin/env bash
# Installs the Debian packages the tests and services need, only those whose programs are
# missing, so a second run does nothing and takes no time. Runs as root without a terminal
# (CI=true); `make test` calls it before pytest.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# package -> a check that is true when the package's program is already there
declare -A present=(
  [openssh-server]='test -x /usr/sbin/sshd'
  [postgresql]='compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null'
  [gnupg]='command -v gpg >/dev/null'
  [chromium]='test -x /usr/bin/chromium'
  [chromium-driver]='command -v chromedriver >/dev/null'
  [docker-compose]='command -v docker-compose >/dev/null'
  [docker.io]='command -v dockerd >/dev/null'
  [mmdebstrap]='command -v mmdebstrap >/dev/null'
  [python3.11-venv]='python3.11 -c "import ensurepip" 2>/dev/null'
  [prometheus]='test -x /usr/bin/prometheus && command -v promtool >/dev/null'
)
order=(openssh-server postgresql gnupg chromium chromium-driver docker-compose docker.io mmdebstrap python3.11-venv prometheus)

missing=()
for package in "${order[@]}"; do
  if ! eval "${present[$package]}"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "system packages: installing ${missing[*]}"

# The packages' own services (sshd on port 22, a PostgreSQL cluster on 5432) must not start:
# the tests run private instances on loopback ports. policy-rc.d exit 101 forbids starting
# services during installation; remove it afterwards only if we created it.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=true
fi
cleanup() { if $created_policy; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q "${missing[@]}"

# The prometheus package's own server (port 9090, /var/lib/prometheus) is not used either: the
# tests start private ones on loopback ports, and `make lint` only runs promtool.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
  systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi

# If the freshly installed postgresql created and started its default cluster anyway (no
# policy support), stop it and keep it from starting at boot; we never use it.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version cluster port status _rest; do
    if [ "$status" = "online" ]; then
      pg_ctlcluster "$version" "$cluster" stop || true
    fi
    if [ -f "/etc/postgresql/$version/$cluster/start.conf" ]; then
      echo manual >"/etc/postgresql/$version/$cluster/start.conf"
    fi
  done
fi

echo "system packages: done"
