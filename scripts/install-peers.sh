#!/bin/sh
# Installs the Python peers used side by side in `wirefold eval` and the fingerprint bench:
# datasketch (MinHash, MinHashLSH). Only the benchmarks need it; `cargo test` does not.
#
#   scripts/install-peers.sh            # into the current Python (user site if not a venv)
#   PYTHON=/path/to/python3 scripts/install-peers.sh
set -eu
PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'datasketch>=1.6'
else
    "$PYTHON" -m pip install --quiet --user 'datasketch>=1.6' 2>/dev/null \
        || "$PYTHON" -m pip install --quiet 'datasketch>=1.6'
fi
"$PYTHON" -c 'import datasketch, numpy; print("datasketch", datasketch.__version__, "numpy", numpy.__version__)'
