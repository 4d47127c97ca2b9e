#!/usr/bin/env bash
# Checks ops/: the Prometheus alert rules (promtool check rules, and their unit tests with promtool
# test rules), the Grafana dashboard (JSON), and that every metric both use is one the service
# exports (scripts/ops-metric-names.ts, which also checks runbook entries and test coverage).
#
#   scripts/check-ops.sh [metric-names-file]    (default: ops/metrics.txt, one name per line)
#
# promtool comes with Debian's prometheus package; it is installed only when promtool is missing,
# without the recommended packages (node exporter, smartmontools, ...: a second server and ~20 more
# packages), and without letting the package start its server.
set -euo pipefail

names_file=$(realpath "${1:-$(dirname "$0")/../ops/metrics.txt}")
cd "$(dirname "$0")/.."
[ -f "$names_file" ] || { echo "no such file of metric names: $names_file" >&2; exit 2; }

policy=/usr/sbin/policy-rc.d
added_policy=''
trap '[ -z "$added_policy" ] || rm -f "$policy"' EXIT

install_promtool() {
  echo "promtool not found: installing Debian's prometheus package (it ships promtool)"
  local before after pid
  before=$(pgrep -x prometheus || true)
  # The package's postinst starts prometheus through invoke-rc.d unless a policy-rc.d forbids it.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# check-ops.sh: no service starts while it installs promtool\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  local log
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends prometheus; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  grep -h 'policy-rc.d' "$log" || true
  rm -f "$log"
  if [ -n "$added_policy" ]; then
    rm -f "$policy"
    added_policy=''
  fi
  # Whatever happened, no prometheus server of this install keeps running or starts at boot.
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
  update-rc.d prometheus disable >/dev/null 2>&1 || true
  after=$(pgrep -x prometheus || true)
  for pid in $after; do
    if ! grep -qx "$pid" <<<"$before"; then
      echo "stopping the prometheus server the package started (pid $pid)"
      kill "$pid"
    fi
  done
}

echo "== promtool"
command -v promtool >/dev/null || install_promtool
promtool --version 2>&1 | sed -n 1p

echo "== promtool check rules"
promtool check rules ops/prometheus/alerts.yml

echo "== promtool test rules"
promtool test rules ops/prometheus/alerts.test.yml

echo "== dashboard is JSON"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' ops/grafana/dashboard.json
echo "ok: ops/grafana/dashboard.json"

echo "== metric names, runbooks, test coverage"
node -r ts-node/register/transpile-only scripts/ops-metric-names.ts "$names_file"
