"""Shared fixtures. Every test runs with sockets disabled: nothing here may touch a network."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "corpora" / "seeds"
DEMO = ROOT / "corpora" / "demo"

SEED_001 = SEEDS / "001_2034baf10eb29465.txt"
SEED_002 = SEEDS / "002_90c25d1651882498.txt"


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a socket (other than a local socketpair) fails the test."""
    real_socket = socket.socket

    def guarded(family=socket.AF_INET, *args, **kwargs):
        if family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkBlocked("a test tried to open a network socket")
        return real_socket(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", guarded)
    monkeypatch.setattr(socket, "create_connection",
                        lambda *a, **k: (_ for _ in ()).throw(NetworkBlocked("create_connection")))
    yield


@pytest.fixture(scope="session")
def seeds() -> Path:
    if not SEED_001.exists():
        pytest.fail(f"seed documents not found at {SEEDS}: the shared/ folder must sit beside the repo")
    return SEEDS


@pytest.fixture
def study_dir(tmp_path) -> Path:
    return tmp_path / "studie"


@pytest.fixture
def study(study_dir):
    from pipeline import Study
    with Study(study_dir) as s:
        yield s
