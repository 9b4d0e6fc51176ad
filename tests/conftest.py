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


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host in LOOPBACK or host.startswith("127."))


@pytest.fixture(autouse=True)
def no_network(monkeypatch, request):
    """Every way off the machine is blocked and recorded: connecting or sending to anything but
    loopback (test servers run on 127.0.0.1), and name lookups of other hosts. A test whose code
    tried (even if that code swallowed the error) fails at teardown. (Creating a socket alone is
    allowed: urllib3 probes IPv6 support at import by binding one to ::1, which sends nothing.)"""
    attempts: list[str] = []
    real_socket = socket.socket
    real_getaddrinfo = socket.getaddrinfo

    def guarded(name, real):
        def method(self, address, *args, **kwargs):
            if _is_loopback(address):
                return real(self, address, *args, **kwargs)
            attempts.append(f"{name}({address!r})")
            raise NetworkBlocked(f"a test tried socket.{name} to {address!r}")
        return method

    class GuardedSocket(real_socket):
        connect = guarded("connect", real_socket.connect)
        connect_ex = guarded("connect_ex", real_socket.connect_ex)

        def sendto(self, data, *args):
            address = args[-1]
            if _is_loopback(address):
                return real_socket.sendto(self, data, *args)
            attempts.append(f"sendto({address!r})")
            raise NetworkBlocked("a test tried socket.sendto")

    def lookup(host, *args, **kwargs):
        if _is_loopback(host):
            return real_getaddrinfo(host, *args, **kwargs)
        attempts.append(f"getaddrinfo({host!r})")
        raise NetworkBlocked(f"a test tried to look up {host!r}")

    real_create = socket.create_connection

    def create_connection(address, *args, **kwargs):
        if _is_loopback(address):
            return real_create(address, *args, **kwargs)
        attempts.append(f"create_connection({address})")
        raise NetworkBlocked("a test tried socket.create_connection")

    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield attempts
    if attempts and "network_guard_selftest" not in request.keywords:
        pytest.fail(f"network access attempted: {attempts}")


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


@pytest.fixture
def demo_copy(demo_run, tmp_path):
    """A copy of the run demo study (with its embedding cache), for a test that edits it."""
    import shutil
    target = tmp_path / "studie"
    shutil.copytree(demo_run, target)
    return target


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo corpus through the whole job once (`narrativ run`): tests copy it to edit it."""
    from pipeline import cli
    path = tmp_path_factory.mktemp("demo") / "studie"
    assert cli.main(["run", str(DEMO), "--study", str(path)]) == 0
    return path
