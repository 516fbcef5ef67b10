#!/bin/sh
# Installs the peers the benchmarks run side by side with wirefold (`cargo test` needs none):
# - datasketch (Python: MinHash, MinHashLSH) for `wirefold eval` and the fingerprint bench;
# - newsboat and sfeed (Debian packages) for `bench/ingest.py cold`, when run as root on a
#   system with apt-get (else it says what to install).
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

if command -v newsboat >/dev/null && command -v sfeed_update >/dev/null; then
    :
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq newsboat sfeed curl >/dev/null
else
    echo "for bench/ingest.py cold, install the Debian packages newsboat, sfeed and curl" >&2
fi
for peer in newsboat sfeed_update; do
    if command -v "$peer" >/dev/null; then echo "$peer: $(command -v "$peer")"; fi
done
