#!/usr/bin/env bash
# Run the test suite: set up ./.venv with ndpmon and its test tools (first run only),
# then pytest. Extra arguments go to pytest (e.g. tests/run.sh -k decode).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/pytest ] || ! .venv/bin/python -c "import ndpmon, scapy, lxml, daemon, hypothesis" 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e ".[test]"
fi
exec .venv/bin/python -m pytest -q "$@"
