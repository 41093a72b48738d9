#!/usr/bin/env bash
# Set up ndpmon in ./.venv (first run only) and replay the shipped sample capture
# samples/demo.pcap with the sample config_ndpmon.xml. Alerts are printed on stderr;
# the neighbour cache and alerts.xml are written to a temporary directory, shown at the end.
set -euo pipefail
cd "$(dirname "$0")"
# (again when the installed command no longer starts, e.g. after an update moved it)
if ! .venv/bin/ndpmon --version >/dev/null 2>&1; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e .
fi
out=$(mktemp -d /tmp/ndpmon-demo.XXXXXX)
.venv/bin/ndpmon -f config_ndpmon.xml -g "$out/neighbor_list.xml" -r samples/demo.pcap \
    --json-alerts "$out/alerts.jsonl" "$@"
echo "neighbour cache, alerts.xml and alerts.jsonl are in $out" >&2
