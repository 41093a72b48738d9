#!/usr/bin/env bash
# The long fuzz run (see fuzz/run_long.py): bash fuzz/run_long.sh [MINUTES] [--seed N] [--out DIR]
# Sets up ./.venv as tests/run.sh does if it is missing. Findings go to fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash tests/run.sh --collect-only -q >/dev/null
exec .venv/bin/python fuzz/run_long.py --minutes "${1:-30}" "${@:2}"
