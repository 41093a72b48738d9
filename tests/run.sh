#!/usr/bin/env bash
# Run the test suite: set up ./.venv with ndpmon and its test tools (again whenever
# setup.cfg changes), then pytest. Extra arguments go to pytest (e.g. tests/run.sh -k decode).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.setup-cfg.sha256
want=$(sha256sum setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e ".[test]"
    echo "$want" > "$stamp"
fi
exec .venv/bin/python -m pytest -q "$@"
