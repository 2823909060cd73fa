"""Only the lab's own nodes reach its NFS exports, and only root reaches a node's system bus.

Each node's export is read-write with root not squashed, as shared storage
in a real cluster would be; a node's bus carries ganesha's admin interface,
which tells the server to take over other nodes' clients.  Neither may be
within reach of anything but the lab itself (and root).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ocfkit.lab import Lab, ganesha, processes

pytestmark = [pytest.mark.real, pytest.mark.lab]

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]

# Exits 0 when a TCP connection to argv[1]:2049 is accepted within 3 s.
CONNECT = """\
import socket, sys
try:
    socket.create_connection((sys.argv[1], 2049), timeout=3).close()
except OSError as error:
    print(error)
    raise SystemExit(1)
"""

# A namespace of its own with an address in the lab's subnet, but no link to the lab.
CONNECT_FROM_LOOKALIKE = (
    """\
import subprocess, sys
for argv in (["ip", "link", "set", "lo", "up"],
             ["ip", "link", "add", "lab0", "type", "dummy"],
             ["ip", "addr", "add", sys.argv[2] + "/24", "dev", "lab0"],
             ["ip", "link", "set", "lab0", "up"]):
    subprocess.run(argv, check=True, timeout=10)
"""
    + CONNECT
)

GET_GRACE = [
    "dbus-send", "--system", "--print-reply", "--reply-timeout=3000", f"--dest={ganesha.DEST}",
    ganesha.ADMIN_PATH, f"{ganesha.ADMIN_INTERFACE}.get_grace",
]  # fmt: skip
LIST_ACTIVATABLE = [
    "dbus-send", "--system", "--print-reply", "--reply-timeout=3000",
    "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
    "org.freedesktop.DBus.ListActivatableNames",
]  # fmt: skip


def on_bus(
    lab: Lab, node: str, argv: list[str], *, as_nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    """``argv`` from the host with the node's bus as the system bus."""
    return subprocess.run(
        [*AS_NOBODY, *argv] if as_nobody else argv,
        env={"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": lab.bus_address(node)},
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )


def test_nfs_is_served_inside_the_lab_only(ganesha_cluster: Lab) -> None:
    """Checked without sending anything outside namespaces the lab or this test made.

    The lab's only network is the bridge in its own namespace: its ports
    are the nodes' links and nothing else, each node has no interface but
    that link and loopback, and every ganesha.nfsd runs in a node.  A
    namespace that merely has an address in the lab's subnet gets nowhere.
    """
    lab = ganesha_cluster
    layout = lab.layout
    server = lab.node_address("node2")
    host_namespace = processes.netns_inode(os.getpid())
    for node in lab.nodes:
        daemons = ganesha.daemons(lab._netns_inode(node))
        assert daemons, f"no ganesha.nfsd in {node}"
        assert all(processes.netns_inode(d.pid) != host_namespace for d in daemons)
        links = lab.exec(node, ["ip", "-o", "link", "show"], check=True).stdout
        assert [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()] == [
            "lo",
            "eth0",
        ]
    bridge = subprocess.run(
        ["ip", "-n", layout.bridge_namespace, "-o", "link", "show", "master", "br0"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    ports = sorted(line.split(":")[1].strip().split("@")[0] for line in bridge.splitlines())
    assert ports == sorted(layout.bridge_port(n) for n in lab.nodes)

    inside = lab.exec("node1", [sys.executable, "-c", CONNECT, server], timeout=20)
    assert inside.returncode == 0, inside.stdout + inside.stderr  # the control

    lookalike = subprocess.run(
        ["unshare", "--net", "--", sys.executable, "-c", CONNECT_FROM_LOOKALIKE, server,
         f"{layout.subnet}.99"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert lookalike.returncode == 1, lookalike.stdout + lookalike.stderr


def test_the_export_serves_the_labs_subnet_only(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    export = lab.node_dir("node2") / "ganesha" / "export"
    (export / "isolation").write_text("served to the lab\n")

    def read(client: str, address: str) -> subprocess.CompletedProcess[str]:
        url = f"nfs://{address}/export/isolation?version=4"
        return lab.exec(client, ["nfs-cat", url], timeout=30)

    # Out of grace, a client in the lab's subnet reads (the control)...
    lab.wait_for(
        lambda: read("node1", lab.node_address("node2")).returncode == 0,
        60,
        "node2's export readable from node1",
        interval=1.0,
    )
    assert read("node1", lab.node_address("node2")).stdout == "served to the lab\n"
    # ...while a client outside it (node2 itself, from 127.0.0.1) is refused.
    outsider = read("node2", "127.0.0.1")
    assert outsider.returncode != 0
    assert outsider.stdout == ""


def test_other_users_on_the_host_reach_neither_the_export_nor_the_bus(
    ganesha_cluster: Lab,
) -> None:
    lab = ganesha_cluster
    home = lab.node_dir("node1")
    for path in (home / "ganesha" / "export", lab.layout.bus_socket("node1")):
        assert path.exists()  # for root
        seen = subprocess.run(
            [*AS_NOBODY, "stat", str(path)], capture_output=True, text=True, timeout=10, check=False
        )
        assert seen.returncode != 0 and "Permission denied" in seen.stderr, path
    answer = on_bus(lab, "node1", GET_GRACE, as_nobody=True)
    assert answer.returncode != 0
    assert on_bus(lab, "node1", GET_GRACE).returncode == 0  # root still may


def test_a_nodes_bus_admits_root_only_and_starts_nothing_on_demand(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    listed = on_bus(lab, "node1", LIST_ACTIVATABLE)
    assert listed.returncode == 0, listed.stderr
    names = [line.split('"')[1] for line in listed.stdout.splitlines() if 'string "' in line]
    assert names == ["org.freedesktop.DBus"]

    # Even with the socket reachable, the bus itself turns everyone but root away.
    directory = lab.layout.bus_socket("node1").parent
    directory.chmod(0o755)
    try:
        refused = on_bus(lab, "node1", LIST_ACTIVATABLE, as_nobody=True)
    finally:
        directory.chmod(0o700)
    assert refused.returncode != 0
    assert "Failed to open connection" in refused.stderr
