"""The tests' network guard: every way off the machine is blocked and recorded — connecting or
sending to anything but loopback (test servers run on 127.0.0.1) and name look-ups of other
hosts. The same guard runs in the test process (tests/conftest.py, through monkeypatch) and in
every child process the tests start (sitecustomize.py in this folder is put on PYTHONPATH; it
writes each attempt to the file named by LOG_VARIABLE, which the test then checks).

Creating a socket alone is allowed: urllib3 probes IPv6 support at import by binding one to
::1, which sends nothing."""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Callable

# The file a child process appends its attempts to (set by tests/conftest.py, per test).
LOG_VARIABLE = "NARRATIV_TEST_NETWORK_LOG"
HERE = Path(__file__).resolve().parent

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlocked(RuntimeError):
    pass


def is_loopback(address) -> bool:
    """A loopback host, or a (host, port, ...) address on one."""
    host = address[0] if isinstance(address, tuple) else address
    if host is None:
        return True                       # getaddrinfo(None, port): the local wildcard address
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]").lower()
    return host in LOOPBACK_NAMES or host in ("", "::1") or host.startswith("127.")


def patches(record: Callable[[str], None]) -> list[tuple[object, str, object]]:
    """(owner, attribute, guarded replacement) for every way out; `record` gets each attempt."""
    real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}
    real_fn = {name: getattr(socket, name) for name in
               ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "create_connection")}

    def blocked(what: str):
        record(what)
        raise NetworkBlocked(f"a test tried {what}")

    def method(name):
        def guarded(self, address, *args, **kwargs):
            if self.family == getattr(socket, "AF_UNIX", None) or is_loopback(address):
                return real[name](self, address, *args, **kwargs)
            blocked(f"socket.{name}({address!r})")
        return guarded

    def sendto(self, data, *args):
        address = args[-1]
        if self.family == getattr(socket, "AF_UNIX", None) or is_loopback(address):
            return real["sendto"](self, data, *args)
        blocked(f"socket.sendto({address!r})")

    def lookup(name):
        def guarded(host, *args, **kwargs):
            if is_loopback(host):
                return real_fn[name](host, *args, **kwargs)
            blocked(f"socket.{name}({host!r})")
        return guarded

    def create_connection(address, *args, **kwargs):
        if is_loopback(address):
            return real_fn["create_connection"](address, *args, **kwargs)
        blocked(f"socket.create_connection({address!r})")

    out: list[tuple[object, str, object]] = [
        (socket.socket, "connect", method("connect")),
        (socket.socket, "connect_ex", method("connect_ex")),
        (socket.socket, "sendto", sendto),
        (socket, "create_connection", create_connection),
    ]
    out += [(socket, name, lookup(name)) for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex",
                                                      "gethostbyaddr")]
    return out


def file_recorder(path: str | Path) -> Callable[[str], None]:
    """A recorder for a child process: one line per attempt, appended to `path`."""
    def record(what: str) -> None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(what.replace("\n", " ") + "\n")
    return record


def read_log(path: str | Path) -> list[str]:
    """What child processes recorded in `path` (nothing when they tried nothing)."""
    path = Path(path)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
