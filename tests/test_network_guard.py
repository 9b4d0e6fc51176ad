"""The network guard itself (tests/_netguard): connections, sends and name look-ups are blocked
and recorded, in the test process and in every child process a test starts; loopback is let
through. And the code does no network I/O where none is asked for: building the LLM drafter
looks no host up."""
from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from _netguard import netguard
from conftest import ROOT, NetworkBlocked

# A child process that tries every way out and swallows the errors, as careless code would.
CHILD = textwrap.dedent("""
    import socket
    for attempt in (lambda: socket.gethostbyname("example.org"),
                    lambda: socket.getaddrinfo("example.org", 443),
                    lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("192.0.2.1", 9)),
                    lambda: socket.create_connection(("example.org", 80), timeout=1)):
        try:
            attempt()
        except Exception as exc:
            print(type(exc).__name__)
""")


@pytest.mark.network_guard_selftest
def test_guard_blocks_connections_and_lookups(no_network):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        sock.connect(("192.0.2.1", 9))
    with pytest.raises(NetworkBlocked):
        sock.connect_ex(("192.0.2.1", 9))
    sock.close()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(NetworkBlocked):
        udp.sendto(b"x", ("192.0.2.1", 53))
    udp.close()
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("example.org", 80))
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.org", 443)
    with pytest.raises(NetworkBlocked):
        socket.gethostbyname("example.org")
    with pytest.raises(NetworkBlocked):
        socket.gethostbyname_ex("example.org")
    with pytest.raises(NetworkBlocked):
        socket.gethostbyaddr("192.0.2.1")
    assert [a.split("(")[0] for a in no_network] == [
        "socket.connect", "socket.connect_ex", "socket.sendto", "socket.create_connection",
        "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"]


@pytest.mark.network_guard_selftest
def test_guard_catches_lookups_of_code_that_imported_socket_first(no_network):
    """urllib and http.client resolve through socket.getaddrinfo at call time: blocked too."""
    import urllib.request
    with pytest.raises(NetworkBlocked):
        urllib.request.urlopen("http://example.org/", timeout=1)
    assert no_network and "example.org" in no_network[0]


def test_guard_lets_loopback_through(no_network):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    accepted.start()
    client = socket.create_connection(("localhost", port), timeout=5)
    client.close()
    accepted.join(timeout=5)
    server.close()
    assert socket.gethostbyname("localhost").startswith("127.")
    assert no_network == []


@pytest.mark.network_guard_selftest
def test_child_process_is_guarded_and_reported(child_network_log):
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["NetworkBlocked"] * 4        # the child never got out
    tried = netguard.read_log(child_network_log)
    assert [a.split("(")[0] for a in tried] == [
        "socket.gethostbyname", "socket.getaddrinfo", "socket.connect", "socket.create_connection"]
    assert "example.org" in tried[0] and "192.0.2.1" in tried[2]


def test_child_process_may_use_loopback(child_network_log):
    code = "import socket; print(socket.gethostbyname('localhost'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("127.") and netguard.read_log(child_network_log) == []


def test_a_test_whose_child_tried_fails(pytester):
    """The guard's teardown check, seen from outside: a test that starts a child which tries
    (and swallows the error) passes its own asserts but fails at teardown."""
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_child=f"""
        import subprocess, sys
        def test_starts_a_careless_child():
            subprocess.run([sys.executable, "-c", {CHILD!r}], check=True, timeout=60)
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*network access attempted*child process: socket.gethostbyname('example.org')*"])


def test_llm_drafter_constructor_looks_nothing_up(no_network, caplog):
    """Building the drafter does no I/O; where the endpoint is (a DNS look-up for a host name)
    is found out at the first request."""
    from pipeline import config
    from pipeline.llm import LLMDrafter
    dcfg = dict(config.defaults()["draft"], llm_url="http://llm.narrativ-test.example:8080/v1/")
    drafter = LLMDrafter(dcfg)
    assert drafter.url == "http://llm.narrativ-test.example:8080/v1" and no_network == []
    assert "not on this machine" not in caplog.text


@pytest.mark.network_guard_selftest
def test_llm_endpoint_is_checked_at_the_first_request(no_network):
    from pipeline import config
    from pipeline.llm import LLMDrafter
    drafter = LLMDrafter(dict(config.defaults()["draft"], llm_url="http://llm.narrativ-test.example:8080/v1"))
    with pytest.raises(NetworkBlocked):
        drafter.ask("hej")
    assert no_network and "llm.narrativ-test.example" in no_network[0]


def test_sitecustomize_is_test_side_only():
    """The child guard lives in the tests; the package ships nothing of it."""
    assert not list((ROOT / "pipeline").rglob("sitecustomize.py"))
    assert netguard.LOG_VARIABLE not in "".join(p.read_text(encoding="utf-8") for p in (ROOT / "pipeline").rglob("*.py"))
    assert Path(netguard.__file__).parent == ROOT / "tests" / "_netguard"


@pytest.mark.network_guard_selftest
def test_notebook_kernel_is_guarded_and_reported(child_network_log):
    """Notebooks run by nbclient: the kernel is a child process with the same guard."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CHILD)]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert nb.cells[0].outputs[0]["text"].split() == ["NetworkBlocked"] * 4
    assert [a.split("(")[0] for a in netguard.read_log(child_network_log)] == [
        "socket.gethostbyname", "socket.getaddrinfo", "socket.connect", "socket.create_connection"]
