import socket

import pytest

from conftest import NetworkBlocked


def test_guard_blocks_sockets():
    with pytest.raises(NetworkBlocked):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))
