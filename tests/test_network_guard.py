import socket
import threading

import pytest

from conftest import NetworkBlocked


@pytest.mark.network_guard_selftest
def test_guard_blocks_connections_and_lookups(no_network):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        sock.connect(("192.0.2.1", 9))
    sock.close()
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("example.org", 80))
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.org", 443)
    assert len(no_network) == 3


def test_guard_lets_loopback_through(no_network):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept()[0].close(), daemon=True).start()
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.close()
    server.close()
    assert no_network == []
