"""The lab's network: a bridge in a namespace of its own and one veth per node.

The host's network namespace is never touched: the bridge, the veth pairs
and the subnet exist only inside namespaces this module creates, so the
addresses cannot clash with anything the host uses.  Taking a node's
interface down is how a scenario cuts it off (corosync's token then expires
and the others fence it).
"""

from __future__ import annotations

import os

from ocfkit.lab.commands import run
from ocfkit.lab.errors import LabError
from ocfkit.lab.layout import BRIDGE, NODE_INTERFACE, Layout

_TIMEOUT = 15.0
NETNS_DIR = "/run/netns"


def _batch(commands: list[str], namespace: str | None = None) -> None:
    """Several ``ip`` commands in one process (``ip -batch``), optionally inside a namespace."""
    argv = ["ip", "-n", namespace] if namespace else ["ip"]
    run([*argv, "-batch", "-"], input="\n".join(commands) + "\n", timeout=_TIMEOUT)


def inode(namespace: str) -> int:
    return os.stat(f"{NETNS_DIR}/{namespace}").st_ino


def existing(prefix: str = "") -> list[str]:
    """Named network namespaces (``ip netns list``) starting with ``prefix``."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if name.startswith(prefix))


def create(layout: Layout) -> dict[str, int]:
    """Create the namespaces and wire them; returns each namespace's inode."""
    clash = existing(layout.prefix)
    if clash:
        raise LabError(
            f"namespaces of this lab already exist ({' '.join(clash)}): run `ocfkit lab down`"
        )
    names = layout.namespaces()
    _batch([f"netns add {name}" for name in names])
    bridge_ns = layout.bridge_namespace
    commands = [
        "link set lo up",
        f"link add {BRIDGE} type bridge",
        f"link set {BRIDGE} up",
    ]
    for node in layout.nodes:
        port = layout.bridge_port(node)
        commands += [
            f"link add {port} type veth peer name {NODE_INTERFACE} netns {layout.namespace(node)}",
            f"link set {port} master {BRIDGE} up",
        ]
    _batch(commands, bridge_ns)
    for node in layout.nodes:
        _batch(
            [
                "link set lo up",
                f"addr add {layout.address(node)}/24 dev {NODE_INTERFACE}",
                f"link set {NODE_INTERFACE} up",
            ],
            layout.namespace(node),
        )
    return {name: inode(name) for name in names}


def add_node(layout: Layout, node: str) -> dict[str, int]:
    """Wire one more node into a running lab's bridge; returns its namespace's inode."""
    name = layout.namespace(node)
    if name in existing():
        raise LabError(f"the namespace {name} already exists: run `ocfkit lab down`")
    _batch([f"netns add {name}"])
    port = layout.bridge_port(node)
    _batch(
        [
            f"link add {port} type veth peer name {NODE_INTERFACE} netns {name}",
            f"link set {port} master {BRIDGE} up",
        ],
        layout.bridge_namespace,
    )
    _batch(
        [
            "link set lo up",
            f"addr add {layout.address(node)}/24 dev {NODE_INTERFACE}",
            f"link set {NODE_INTERFACE} up",
        ],
        name,
    )
    return {name: inode(name)}


def set_link(layout: Layout, node: str, up: bool) -> None:
    run(
        [
            "ip",
            "-n",
            layout.namespace(node),
            "link",
            "set",
            NODE_INTERFACE,
            "up" if up else "down",
        ],
        timeout=_TIMEOUT,
    )


def reset(layout: Layout, node: str) -> None:
    """The node's interface as ``create`` left it: its own address only, link up."""
    _batch(
        [
            f"addr flush dev {NODE_INTERFACE}",
            f"addr add {layout.address(node)}/24 dev {NODE_INTERFACE}",
            f"link set {NODE_INTERFACE} up",
        ],
        layout.namespace(node),
    )


def delete(names: list[str]) -> list[str]:
    """Delete those of ``names`` that exist; returns the ones that could not be deleted."""
    failed = []
    for name in names:
        if name not in existing():
            continue
        done = run(["ip", "netns", "delete", name], timeout=_TIMEOUT, check=False)
        if done.returncode != 0 and name in existing():
            failed.append(f"{name}: {done.stderr.strip()}")
    return failed
