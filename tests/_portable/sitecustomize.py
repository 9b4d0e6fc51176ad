"""Imported at start-up by the child processes of tests/test_portable.py (this folder first on
their PYTHONPATH): installs narrativ_block (the modules in NARRATIV_TEST_BLOCK cannot be
imported), then runs the next sitecustomize on the path (the tests' network guard), as if this
one were not here. Test-side only; narrativ knows nothing of it."""
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import narrativ_block  # noqa: E402

narrativ_block.install()
sys.path.remove(HERE)

_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != HERE])
if _spec is not None and _spec.loader is not None:
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
