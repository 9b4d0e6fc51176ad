"""Imported at start-up by every Python child process the tests start (this folder is on their
PYTHONPATH, put there by tests/conftest.py): installs the tests' network guard, recording each
attempt in the file named by NARRATIV_TEST_NETWORK_LOG. Test-side only; narrativ knows nothing
of it."""
import os

if os.environ.get("NARRATIV_TEST_NETWORK_LOG"):
    import netguard

    for _owner, _name, _replacement in netguard.patches(netguard.file_recorder(os.environ[netguard.LOG_VARIABLE])):
        setattr(_owner, _name, _replacement)
