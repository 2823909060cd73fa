"""Each node runs a real ganesha.nfsd on a private system bus, and serves NFSv4 to the others."""

from __future__ import annotations

import os
import subprocess

import pytest

from ocfkit.lab import Lab

pytestmark = [pytest.mark.real, pytest.mark.lab]


GET_GRACE = [
    "dbus-send", "--system", "--print-reply", "--dest=org.ganesha.nfsd",
    "/org/ganesha/nfsd/admin", "org.ganesha.nfsd.admin.get_grace",
]  # fmt: skip


def get_grace(bus_address: str) -> subprocess.CompletedProcess[str]:
    """dbus-send from the host, to one node's bus."""
    return subprocess.run(
        GET_GRACE,
        env={"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": bus_address},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def ganesha_on_bus(bus_address: str) -> bool:
    """Whether the bus still has a connection owning ganesha's name.

    The bus learns that a killed ganesha is gone only when it reads the
    closed socket; until then a call is routed to it and answered
    ``NoReply: Message recipient disconnected`` instead of ``ServiceUnknown``.
    """
    done = subprocess.run(
        ["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
         "string:org.ganesha.nfsd"],
        env={"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": bus_address},
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return "boolean true" in done.stdout


def test_each_ganesha_answers_on_its_own_bus(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    addresses = {node: lab.bus_address(node) for node in lab.nodes}
    assert len(set(addresses.values())) == len(lab.nodes)
    for address in addresses.values():
        answer = get_grace(address)
        assert answer.returncode == 0, answer.stderr
        assert "boolean" in answer.stdout

    # Only node1's ganesha goes: only node1's bus stops answering.
    killed = lab.kill_ganesha("node1")
    assert killed
    # ... and it is collected at once, as init would: no zombie left in /proc for an
    # agent that checks /proc/<pid> to take for a live daemon.
    assert not [pid for pid in killed if os.path.exists(f"/proc/{pid}")]
    lab.wait_for(lambda: not ganesha_on_bus(addresses["node1"]), 10, "node1's bus without ganesha")
    assert "ServiceUnknown" in get_grace(addresses["node1"]).stderr
    assert get_grace(addresses["node2"]).returncode == 0
    lab.start_ganesha("node1")
    assert get_grace(addresses["node1"]).returncode == 0


def test_nfsv4_client_reads_from_another_node(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    export = lab.node_dir("node2") / "ganesha" / "export"
    (export / "file").write_text("served by node2\n")
    url = f"nfs://{lab.node_address('node2')}/export/file?version=4"

    # A restarted ganesha is in grace: the read is refused, as a client would see it.
    lab.kill_ganesha("node2")
    lab.start_ganesha("node2")
    assert lab.ganesha_in_grace("node2") is True
    refused = lab.exec("node1", ["nfs-cat", url], timeout=30)
    assert refused.returncode != 0
    assert "NFS4ERR_GRACE" in refused.stdout + refused.stderr

    lab.wait_for(lambda: lab.ganesha_in_grace("node2") is False, 30, "node2 out of grace")
    read = lab.exec("node1", ["nfs-cat", url], timeout=30)
    assert read.returncode == 0, read.stderr
    assert read.stdout == "served by node2\n"
