"""Each node's directory tree, written before anything starts.

Ownership and modes follow what the Debian packages create, since
Pacemaker's daemons run as hacluster and refuse directories they cannot use.
Everything is rewritten at every ``up``: a node starts from a clean state,
with the seeded CIB, as a freshly installed machine would.

What only root uses is closed to everyone else: the node's bus directory
(mode 0700: no other user on the host reaches the node's system bus) and
its ganesha directory (0700: the export is read-write with root not
squashed, so what the lab's NFS clients put there, set-uid programs and
device nodes included, must not be reachable by other users on the host).
A shared export (``shared_export``) is the caller's directory, made and
closed the same way by the caller, and never removed here.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
from pathlib import Path

from ocfkit.lab import render
from ocfkit.lab.layout import HOST_RESOURCE_D, OCF_RESOURCE_D, Layout
from ocfkit.lab.state import LabConfig

_PACEMAKER_SUBDIRS = ("cib", "pengine", "blackbox", "cores", "bundles")


def _chown_tree(path: Path, user: str, group: str) -> None:
    """``path`` and everything below it to ``user``: a symbolic link is changed, not followed."""
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    os.chown(path, uid, gid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(Path(root) / name, uid, gid, follow_symlinks=False)


def host_providers() -> list[str]:
    """Provider directories installed on the host (heartbeat, pacemaker, ...)."""
    try:
        return sorted(p.name for p in Path(OCF_RESOURCE_D).iterdir() if p.is_dir())
    except FileNotFoundError:
        return []


def prepare(layout: Layout, config: LabConfig, fence_agent: str | None) -> None:
    cib = render.seeded_cib(layout.nodes, fence_agent)
    (layout.workdir / "nodes").mkdir(exist_ok=True)
    (layout.workdir / "nodes").chmod(0o755)
    for node in layout.nodes:
        prepare_node(layout, config, node, cib)


def prepare_node(layout: Layout, config: LabConfig, node: str, cib: str | None) -> None:
    """One node's tree; without ``cib`` Pacemaker starts empty and takes the cluster's CIB.

    That is how a node added to a running cluster starts (``pcs cluster node
    add`` copies no CIB either): a seeded CIB would be older than the
    cluster's, and the DC's replaces it anyway.
    """
    home = layout.node_dir(node)
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, mode=0o755)

    etc = home / "etc-corosync"
    (etc / "uidgid.d").mkdir(parents=True)
    write_corosync_conf(layout, node)
    (etc / "uidgid.d" / "pacemaker").write_text(render.COROSYNC_UIDGID, encoding="utf-8")
    (home / "lib-corosync").mkdir()

    pacemaker = home / "lib-pacemaker"
    for sub in _PACEMAKER_SUBDIRS:
        (pacemaker / sub).mkdir(parents=True, mode=0o750)
    if cib is not None:
        (pacemaker / "cib" / "cib.xml").write_text(cib, encoding="utf-8")
        (pacemaker / "cib" / "cib.xml").chmod(0o600)
    (home / "log-pacemaker").mkdir()
    (home / "log-pacemaker").chmod(0o770)
    _chown_tree(pacemaker, "hacluster", "haclient")
    _chown_tree(home / "log-pacemaker", "hacluster", "haclient")

    resource_d = layout.resource_d(node)
    resource_d.mkdir(mode=0o755)
    for provider in host_providers():
        (resource_d / provider).symlink_to(f"{HOST_RESOURCE_D}/{provider}")

    if config.ganesha:
        for sub in ("dbus", "ganesha-run", "ganesha/export", "ganesha/recov"):
            (home / sub).mkdir(parents=True, mode=0o755)
        for private in ("dbus", "ganesha"):
            (home / private).chmod(0o700)
        (home / "dbus.conf").write_text(render.bus_config(), encoding="utf-8")
        recovery_root = home / "ganesha" / "recov"
        if config.recovery_root is not None:
            recovery_root = Path(config.recovery_root.replace("{node}", node))
        own = home / "ganesha" / "export"
        shared = config.shared_export
        (home / "ganesha.conf").write_text(
            render.ganesha_conf(
                recovery_root=recovery_root,
                export_path=own if shared is None else Path(shared),
                node_export=None if shared is None else own,
                grace_period=config.grace_period,
                lease_lifetime=config.lease_lifetime,
                clustered=config.clustered,
                clients=f"{layout.subnet}.0/24",
            ),
            encoding="utf-8",
        )


def write_corosync_conf(layout: Layout, node: str) -> None:
    """The node's corosync.conf, its nodelist every node of ``layout``."""
    home = layout.node_dir(node)
    (home / "etc-corosync" / "corosync.conf").write_text(
        render.corosync_conf(layout, home / "corosync.log"), encoding="utf-8"
    )


def link_provider(layout: Layout, provider: str) -> None:
    """Make the lab's ``provider`` directory part of every node's resource.d."""
    target = layout.shims_root / "resource.d" / provider
    for node in layout.nodes:
        link = layout.resource_d(node) / provider
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
