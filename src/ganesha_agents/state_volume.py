"""The shared state volume's layout: where each node's ganesha keeps its recovery records.

GlusterFS 3.7's ``ganesha-ha.sh --setup`` laid out, on the shared storage
volume (``ha_vol_mnt``), ``nfs-ganesha/<node>/nfs/ganesha/{v4recov,v4old}``
for every node, and in each node's ``ganesha`` directory a link named after
every other node pointing at that node's ``ganesha`` directory; a node's
``/var/lib/nfs`` was then linked to ``nfs-ganesha/<node>/nfs``, so ganesha's
default ``RecoveryRoot`` (``/var/lib/nfs/ganesha``) is on the volume.  That
layout is kept, and one directory is added for the takeover agent:
``nfs-ganesha/.addresses``, one link per virtual IP naming the recovery root
whose records hold that address's clients (see
:mod:`ganesha_agents.backends.records`).

Creating is idempotent: what exists and is right is left alone, nothing is
ever removed, and a path that exists but is not what the layout needs is
reported, not replaced.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    StrPath = str | os.PathLike[str]

STATE_DIR = "nfs-ganesha"
ADDRESSES = ".addresses"
RECORD_DIRS = ("v4recov", "v4old")


def node_nfs(volume: StrPath, node: str) -> str:
    """What a node's ``/var/lib/nfs`` is linked to."""
    return os.path.join(volume, STATE_DIR, node, "nfs")


def recovery_root(volume: StrPath, node: str) -> str:
    """The node's ganesha ``RecoveryRoot`` on the volume."""
    return os.path.join(node_nfs(volume, node), "ganesha")


def address_dir(volume: StrPath) -> str:
    return os.path.join(volume, STATE_DIR, ADDRESSES)


def create(volume: StrPath, nodes: Sequence[str]) -> list[str]:
    """Lay out ``volume`` for ``nodes``; returns what was created (empty when all was there).

    Raises ValueError naming the first path that exists but is not what the
    layout needs (a file where a directory belongs, a link to elsewhere).
    """
    for node in nodes:
        if not node or "/" in node or node.startswith(".") or not node.isprintable():
            raise ValueError(f"{node!r} cannot be a node's directory name")
    made: list[str] = []
    for node in nodes:
        root = recovery_root(volume, node)
        for sub in RECORD_DIRS:
            _directory(os.path.join(root, sub), made)
    _directory(address_dir(volume), made)
    for node in nodes:
        for peer in nodes:
            if peer != node:
                link = os.path.join(recovery_root(volume, node), peer)
                _link(link, recovery_root(volume, peer), made)
    return made


def _directory(path: str, made: list[str]) -> None:
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
        raise ValueError(f"{path} exists and is not a directory")
    if not os.path.exists(path):
        os.makedirs(path, mode=0o755)
        made.append(f"directory {path}")


def _link(path: str, target: str, made: list[str]) -> None:
    if os.path.islink(path):
        if os.readlink(path) != target:
            raise ValueError(f"{path} links to {os.readlink(path)}, not {target}")
        return
    if os.path.lexists(path):
        raise ValueError(f"{path} exists and is not a link to {target}")
    os.symlink(target, path)
    made.append(f"link {path} -> {target}")
