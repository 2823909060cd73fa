"""Connecting from inside a network namespace, without running in it.

A socket belongs to the network namespace its creator was in when it was
created, and stays there.  So the calling thread enters the namespace
(``setns``), opens the connection, and goes back: the client itself runs
in the lab's host process, and its TCP connection lives in a lab node's (or
a test's) namespace, where the server's address is.  Python 3.11 has no
``os.setns``; libc's is called through ctypes.  Needs CAP_SYS_ADMIN (root).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket

from ocfkit.lab.nfs4.rpc import Connector

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def netns_path(name_or_path: str) -> str:
    """``/run/netns/NAME`` for a name (``ip netns`` style), a path as given."""
    return name_or_path if "/" in name_or_path else f"/run/netns/{name_or_path}"


def netns_connector(namespace: str) -> Connector:
    """A connector whose sockets live in ``namespace`` (a name or a path like
    ``/proc/PID/ns/net``)."""
    path = netns_path(namespace)

    def connect(host: str, port: int, timeout: float) -> socket.socket:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(path, os.O_RDONLY)
            try:
                _setns(target)
            finally:
                os.close(target)
            try:
                return socket.create_connection((host, port), timeout=timeout)
            finally:
                # Back to where the thread was; if this fails the thread is
                # stranded in the other namespace, which must not go unnoticed.
                _setns(own)
        finally:
            os.close(own)

    return connect
