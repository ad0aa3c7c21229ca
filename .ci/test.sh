#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine (as root), then run
# the linters and the whole suite, integration tests on the network-namespace estate included.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "the tests build network namespaces and start real sshd/snmpd: run as root (sudo)" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  python3 python3-venv python3-pip \
  openssh-server openssh-client iproute2 util-linux nftables iptables \
  nmap snmpd snmp restic borgbackup clamav shellcheck ca-certificates sudo chromium \
  systemd  # systemd-analyze verifies the units `undone schedule` writes; nothing is started

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'

.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports  # the layering of docs/architecture.md ([tool.importlinter] in pyproject)
.venv/bin/pytest "$@"
