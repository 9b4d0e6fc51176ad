import socket

import pytest

from conftest import NetworkBlocked


@pytest.mark.network_guard_selftest
def test_guard_blocks_connections_and_lookups(no_network):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        sock.connect(("127.0.0.1", 9))
    sock.close()
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("example.org", 80))
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.org", 443)
    assert len(no_network) == 3
