#!/usr/bin/env bash
# pytest (the arguments given) in a Python where `import fcntl` and `import resource` fail — in
# the test process and in every child it starts (python -m pipeline, the page's server, a
# notebook's study holder): a throwaway venv over the project venv's packages whose first .pth
# installs tests/_portable/narrativ_block.py before anything else runs. On Linux, filelock then
# falls back to its soft lock (a lock file created exclusively), the code path nothing else here
# runs; what this shows is that nothing in narrativ needs fcntl or resource.
#   tests/_portable/run_blocked.sh tests/test_web_study_lock.py tests/test_web_http.py ...
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="$(cd "${NARRATIV_VENV:-.venv}" && pwd)"
SITE="$("$BASE/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
VENV="$(mktemp -d)/blocked"
"$BASE/bin/python" -m venv --without-pip "$VENV"
OWN="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp tests/_portable/narrativ_block.py "$OWN/"
echo "import narrativ_block; narrativ_block.install()" > "$OWN/00-narrativ-block.pth"
echo "import site; site.addsitedir('$SITE')" > "$OWN/01-project-venv.pth"
export NARRATIV_TEST_BLOCK="${NARRATIV_TEST_BLOCK:-fcntl,resource}"
"$VENV/bin/python" -c 'import importlib, sys
for m in ("fcntl", "resource"):
    try:
        importlib.import_module(m); sys.exit(f"{m} importable: the blocker is not in place")
    except ImportError:
        pass
print("fcntl and resource: not importable")'
exec "$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
