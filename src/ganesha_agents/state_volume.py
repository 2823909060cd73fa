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

:func:`survey` walks the layout for a list of nodes and reports every
difference as an :class:`Item`; asked to, it creates what is missing
(``create``) and also repairs what can be repaired without losing anything
(``fix``): a peer link pointing elsewhere is re-pointed (a new link renamed
over it), a directory of root that group or others may write loses those
write bits.  Nothing is ever removed, and nothing that may hold records (a
directory, a file, a directory of another user) is changed: those are
reported with what to do.

Every step runs as :mod:`ganesha_agents.backends.safefs` says: the volume's
path is walked without following anything another user controls, the
layout is walked relative to open directories with ``O_NOFOLLOW``, and a
link is only ever read, never followed.
"""

from __future__ import annotations

import os
import stat

from ganesha_agents.backends import safefs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    StrPath = str | os.PathLike[str]

STATE_DIR = "nfs-ganesha"
ADDRESSES = ".addresses"
RECORD_DIRS = ("v4recov", "v4old")
DIRECTORY_MODE = 0o755

#: What a survey may change.
CHECK = "check"
CREATE = "create"
FIX = "fix"

#: Item statuses: what was done, and what is left.
CREATED = "created"
FIXED = "fixed"
DRIFT = "drift"
WARNING = "warning"
NOTE = "note"


def node_nfs(volume: StrPath, node: str) -> str:
    """What a node's ``/var/lib/nfs`` is linked to."""
    return os.path.join(volume, STATE_DIR, node, "nfs")


def recovery_root(volume: StrPath, node: str) -> str:
    """The node's ganesha ``RecoveryRoot`` on the volume."""
    return os.path.join(node_nfs(volume, node), "ganesha")


def address_dir(volume: StrPath) -> str:
    return os.path.join(volume, STATE_DIR, ADDRESSES)


def valid_node_name(name: str) -> bool:
    """Whether ``name`` can be a node's directory: one path component, not hidden, printable."""
    return (
        bool(name)
        and "/" not in name
        and "\0" not in name
        and not name.startswith(".")
        and name.isprintable()
        and len(name.encode("utf-8", "surrogateescape")) <= 255
    )


class VolumeError(safefs.FileSystemError):
    """The volume cannot be used at all: missing, not mounted, not safe to walk, read-only."""


class Item:
    """One thing a survey did or found, at ``path`` (relative to the volume)."""

    __slots__ = ("blocking", "message", "path", "remedy", "status")

    def __init__(
        self,
        status: str,
        path: str,
        message: str,
        remedy: str | None = None,
        *,
        blocking: bool = True,
    ) -> None:
        self.status = status
        self.path = path
        self.message = message
        self.remedy = remedy
        #: A drift on a path the layout needs (not something extra beside it).
        self.blocking = blocking

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "path": self.path,
            "message": self.message,
            "remedy": self.remedy,
        }

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        return f"{text} ({self.remedy})" if self.remedy else text

    def __repr__(self) -> str:
        return f"Item({self.status!r}, {self.path!r}, {self.message!r})"


class Report:
    """What :func:`survey` saw and did."""

    def __init__(self, volume: str, nodes: Sequence[str], change: str) -> None:
        self.volume = volume
        self.nodes = tuple(nodes)
        self.change = change
        self.resolved: str | None = None
        self.mounted: str | None = None
        self.items: list[Item] = []
        #: (device, inode) of each node's ``nfs`` directory, as found.
        self.node_dirs: dict[str, tuple[int, int]] = {}

    def add(
        self, status: str, path: str, message: str, remedy: str | None = None, **kw: bool
    ) -> None:
        self.items.append(Item(status, path, message, remedy, **kw))

    def of(self, *statuses: str) -> list[Item]:
        return [item for item in self.items if item.status in statuses]

    @property
    def drift(self) -> list[Item]:
        return self.of(DRIFT)

    @property
    def ok(self) -> bool:
        return not self.drift

    def as_dict(self) -> dict[str, object]:
        return {
            "volume": self.volume,
            "resolved": self.resolved,
            "mounted": self.mounted,
            "nodes": list(self.nodes),
            "change": self.change,
            "ok": self.ok,
            "items": [item.as_dict() for item in self.items],
        }

    def text(self) -> str:
        mount = f"mounted, {self.mounted}" if self.mounted else "not a mount point"
        where = (
            self.volume
            if self.resolved in (None, self.volume)
            else f"{self.volume} ({self.resolved})"
        )
        lines = [f"state volume {where}: {mount}; nodes {' '.join(self.nodes) or '(none)'}"]
        for item in self.items:
            lines.append(
                f"  {item.status.upper() if item.status == DRIFT else item.status:8} {item}"
            )
        counts = [
            f"{len(self.of(status))} {status}"
            for status in (CREATED, FIXED, DRIFT, WARNING, NOTE)
            if self.of(status)
        ]
        verdict = "layout in place" if self.ok else "layout NOT in place"
        lines.append(f"{verdict}" + (f": {', '.join(counts)}" if counts else ""))
        return "\n".join(lines) + "\n"


def survey(
    volume: StrPath,
    nodes: Sequence[str],
    *,
    change: str = CHECK,
    owner_uid: int | None = None,
    require_mount: bool = True,
    whole: bool = True,
    probe_write: bool = False,
) -> Report:
    """Walk the layout of ``volume`` for ``nodes``; create or fix as ``change`` allows.

    ``owner_uid`` is who must own the layout (default: this process's
    effective user, root under Pacemaker).  ``whole=False`` limits the walk
    to the nodes' own directories (what ganesha_nfsd needs): no peer links,
    no address records, no look at anything else.  ``probe_write`` writes and
    removes a small file to prove the volume takes writes.

    Raises ValueError for a node name that cannot be a directory, and
    :class:`VolumeError` when the volume cannot be used at all.
    """
    if change not in (CHECK, CREATE, FIX):
        raise ValueError(f"change must be one of {CHECK}, {CREATE}, {FIX}, not {change!r}")
    for node in nodes:
        if not valid_node_name(node):
            raise ValueError(f"{node!r} cannot be a node's directory name")
    if len(set(nodes)) != len(nodes):
        raise ValueError("a node is listed twice")
    walker = _Survey(
        os.path.normpath(os.fspath(volume)),
        tuple(nodes),
        change,
        os.geteuid() if owner_uid is None else owner_uid,
    )
    return walker.run(require_mount=require_mount, whole=whole, probe_write=probe_write)


def create(volume: StrPath, nodes: Sequence[str]) -> list[str]:
    """Lay out ``volume`` for ``nodes``; returns what was created (empty when all was there).

    Raises ValueError naming the first path that exists but is not what the
    layout needs (a file where a directory belongs, a link to elsewhere, a
    directory of another user).  The volume need not be a mount point here
    (a lab's shared directory); :func:`survey` checks that by default.
    """
    try:
        report = survey(volume, nodes, change=CREATE, require_mount=False)
    except VolumeError as error:
        raise ValueError(error.reason) from error
    for item in report.drift:
        if item.blocking:
            raise ValueError(f"{os.path.join(report.volume, item.path)}: {item.message}")
    made = []
    for item in report.of(CREATED):
        where = os.path.join(report.volume, item.path)
        if item.message.startswith("link to "):
            made.append(f"link {where} -> {item.message.removeprefix('link to ')}")
        else:
            made.append(f"directory {where}")
    return made


class _Survey:
    def __init__(self, volume: str, nodes: tuple[str, ...], change: str, owner: int) -> None:
        self.volume = volume
        self.nodes = nodes
        self.change = change
        self.owner = owner
        self.owners = safefs.trusted_owners(owner)
        self.report = Report(volume, nodes, change)
        self.device = -1
        self.opened: list[int] = []

    # ------------------------------------------------------------------ the walk

    def run(self, *, require_mount: bool, whole: bool, probe_write: bool) -> Report:
        try:
            volume = self._open_volume(require_mount)
            state = self.directory(volume, STATE_DIR)
            if probe_write:
                self.probe_write(state if state is not None else volume)
            if state is None:
                return self.report
            roots: dict[str, int] = {}
            for node in self.nodes:
                root = self.node_directories(state, node)
                if root is not None:
                    roots[node] = root
            if whole:
                addresses = self.directory(state, f"{STATE_DIR}/{ADDRESSES}")
                for node, root in roots.items():
                    self.peer_links(root, node)
                    self.scan_recovery_root(root, node)
                if addresses is not None:
                    self.scan_addresses(addresses)
                self.scan_state_dir(state)
            return self.report
        except OSError as error:
            raise VolumeError(f"{self.volume}: {error.strerror or error}") from error
        finally:
            for fd in self.opened:
                os.close(fd)

    def _open_volume(self, require_mount: bool) -> int:
        try:
            fd, resolved = safefs.open_trusted_directory(
                self.volume, self.owners, "the state volume"
            )
        except safefs.FileSystemError as error:
            raise VolumeError(error.reason) from error
        self.opened.append(fd)
        seen = os.fstat(fd)
        if safefs.writable_by_others(seen):
            # Sticky or not: whoever may create names in the volume's root could
            # take nfs-ganesha before root does, or fill the volume.
            raise VolumeError(
                f"{self.volume} is writable by group or others "
                f"(mode {stat.S_IMODE(seen.st_mode):04o}): only root may write the volume's root"
            )
        self.report.resolved = resolved
        self.report.mounted = safefs.mount_type(resolved)
        if self.report.mounted is None and require_mount:
            raise VolumeError(
                f"{self.volume} is not a mount point: is the shared state volume mounted there?"
            )
        if self.change != CHECK and os.fstatvfs(fd).f_flag & os.ST_RDONLY:
            raise VolumeError(f"{self.volume} is mounted read-only")
        self.device = os.fstat(fd).st_dev
        return fd

    def node_directories(self, state: int, node: str) -> int | None:
        """``<node>/nfs/ganesha/{v4recov,v4old}``; the open ``ganesha`` directory, if usable."""
        base = f"{STATE_DIR}/{node}"
        top = self.directory(state, base)
        nfs = None if top is None else self.directory(top, f"{base}/nfs")
        if nfs is None:
            return None
        seen = os.fstat(nfs)
        self.report.node_dirs[node] = (seen.st_dev, seen.st_ino)
        root = self.directory(nfs, f"{base}/nfs/ganesha")
        if root is not None:
            for sub in RECORD_DIRS:
                self.directory(root, f"{base}/nfs/ganesha/{sub}")
        return root

    def peer_links(self, root: int, node: str) -> None:
        for peer in self.nodes:
            if peer != node:
                self.link(root, f"{STATE_DIR}/{node}/nfs/ganesha/{peer}", self.root_of(peer))

    # ----------------------------------------------------------- one path each

    def directory(self, parent: int, rel: str) -> int | None:
        """The directory at ``rel``, made or fixed as allowed; None when it cannot be used."""
        name = os.path.basename(rel)
        seen = safefs.lstat_at(parent, name, self.where(rel))
        if seen is None:
            if self.change == CHECK:
                self.report.add(DRIFT, rel, "missing directory", "state-volume creates it")
                return None
            os.mkdir(name, DIRECTORY_MODE, dir_fd=parent)
            fd = self._open(parent, rel)
            os.fchmod(fd, DIRECTORY_MODE)  # whatever the umask
            self.report.add(CREATED, rel, "directory")
            return fd
        if not stat.S_ISDIR(seen.st_mode):
            self.report.add(
                DRIFT,
                rel,
                f"is {self.describe(parent, name, seen)}, not a directory",
                "not changed: move it away by hand (it may hold records), then run state-volume",
            )
            return None
        fd = self._open(parent, rel)
        seen = os.fstat(fd)
        if seen.st_dev != self.device:
            self.report.add(
                DRIFT,
                rel,
                "is on another file system than the volume (something is mounted there)",
                "not changed: unmount it",
            )
            return None
        if seen.st_uid != self.owner:
            self.report.add(
                DRIFT,
                rel,
                f"is owned by uid {seen.st_uid}, not {self.owner}",
                f"not changed: check what it holds, then chown {self.owner} it",
            )
            return None
        if safefs.writable_by_others(seen):
            mode = stat.S_IMODE(seen.st_mode)
            if self.change == FIX:
                os.fchmod(fd, mode & ~0o022)
                self.report.add(FIXED, rel, f"was mode {mode:04o}, now {mode & ~0o022:04o}")
            else:
                self.report.add(
                    DRIFT,
                    rel,
                    f"is writable by group or others (mode {mode:04o})",
                    "--fix removes those write bits",
                )
                if self.change == CREATE:
                    return None  # nothing is made inside a directory others can write
        return fd

    def link(self, parent: int, rel: str, target: str) -> None:
        """The link at ``rel`` leads to ``target``, made or re-pointed as allowed."""
        name = os.path.basename(rel)
        seen = safefs.lstat_at(parent, name, self.where(rel))
        if seen is None:
            if self.change == CHECK:
                self.report.add(DRIFT, rel, f"missing link to {target}", "state-volume creates it")
                return
            os.symlink(target, name, dir_fd=parent)
            self.report.add(CREATED, rel, f"link to {target}")
            return
        if not stat.S_ISLNK(seen.st_mode):
            self.report.add(
                DRIFT,
                rel,
                f"is {self.describe(parent, name, seen)}, not a link to {target}",
                "not changed: it may hold records; move it away by hand, then run state-volume",
            )
            return
        current = safefs.read_link_at(parent, name, self.where(rel))
        wrong = []
        if current != target:
            wrong.append(f"links to {current}, not {target}")
        if seen.st_uid != self.owner:
            wrong.append(f"is a link owned by uid {seen.st_uid}")
        if not wrong:
            return
        if self.change == FIX:
            replace_link(parent, name, target)
            self.report.add(FIXED, rel, f"{'; '.join(wrong)}: now links to {target}")
        else:
            self.report.add(DRIFT, rel, "; ".join(wrong), f"--fix points it at {target}")

    # ------------------------------------------------------- what else is there

    def scan_recovery_root(self, root: int, node: str) -> None:
        """Entries of a node's recovery root beyond its record directories and peer links."""
        expected = {*RECORD_DIRS, *(peer for peer in self.nodes if peer != node)}
        base = f"{STATE_DIR}/{node}/nfs/ganesha"
        for name in sorted(os.listdir(root)):
            if name in expected:
                continue
            rel = f"{base}/{name}"
            seen = safefs.lstat_at(root, name, self.where(rel))
            if seen is None:
                continue
            if not stat.S_ISLNK(seen.st_mode):
                kind = (
                    "directory" if stat.S_ISDIR(seen.st_mode) else self.describe(root, name, seen)
                )
                self.report.add(NOTE, rel, f"unexpected {kind}", "left alone", blocking=False)
                continue
            target = safefs.read_link_at(root, name, self.where(rel))
            self.owned_link(seen, rel)
            if target == os.path.join(address_dir(self.volume), name):
                continue  # the takeover agent's way to an address's records
            if target == self.root_of(name):
                self.report.add(
                    WARNING,
                    rel,
                    f"links to the records of {name}, which is not listed",
                    "left alone (a node that left the cluster?)",
                    blocking=False,
                )
            elif _temporary(name):
                self.report.add(
                    NOTE,
                    rel,
                    "temporary link of an interrupted update",
                    "left alone",
                    blocking=False,
                )
            else:
                self.report.add(
                    DRIFT,
                    rel,
                    f"links to {target}, outside the layout",
                    f"not changed: a takeover of {name} would read records there; "
                    "remove the link if nothing needs it",
                    blocking=False,
                )

    def scan_addresses(self, addresses: int) -> None:
        """Each address record must name a recovery root of the layout."""
        base = f"{STATE_DIR}/{ADDRESSES}"
        for name in sorted(os.listdir(addresses)):
            rel = f"{base}/{name}"
            seen = safefs.lstat_at(addresses, name, self.where(rel))
            if seen is None:
                continue
            if not stat.S_ISLNK(seen.st_mode):
                self.report.add(
                    DRIFT,
                    rel,
                    f"is {self.describe(addresses, name, seen)}, not an address record (a link)",
                    "not changed: move it away by hand",
                    blocking=False,
                )
                continue
            self.owned_link(seen, rel)
            target = safefs.read_link_at(addresses, name, self.where(rel))
            holder = self.holder_of(target)
            if holder is None:
                if _temporary(name):
                    self.report.add(
                        NOTE, rel, "temporary link of an interrupted update", "left alone",
                        blocking=False,
                    )  # fmt: skip
                    continue
                self.report.add(
                    DRIFT,
                    rel,
                    f"points at {target}, outside the layout",
                    "not changed: the takeover agent refuses it, so the address comes up in "
                    "plain grace and its clients cannot reclaim until a takeover replaces it",
                    blocking=False,
                )
            elif holder not in self.nodes:
                self.report.add(
                    WARNING,
                    rel,
                    f"names the records of {holder}, which is not listed",
                    "left alone: those records still serve the address's clients",
                    blocking=False,
                )

    def scan_state_dir(self, state: int) -> None:
        for name in sorted(os.listdir(state)):
            if name in self.nodes or name == ADDRESSES:
                continue
            rel = f"{STATE_DIR}/{name}"
            seen = safefs.lstat_at(state, name, self.where(rel))
            if seen is None:
                continue
            if stat.S_ISDIR(seen.st_mode) and valid_node_name(name):
                self.report.add(
                    NOTE, rel, f"directory of {name}, which is not listed", "left alone",
                    blocking=False,
                )  # fmt: skip
            else:
                self.report.add(
                    NOTE, rel, f"unexpected {self.describe(state, name, seen)}", "left alone",
                    blocking=False,
                )  # fmt: skip

    # ------------------------------------------------------------------ helpers

    def probe_write(self, directory: int) -> None:
        """Create, write, sync and remove a file: a volume that refuses is unusable."""
        name = f".ganesha-write-test.{os.getpid()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, 0o600, dir_fd=directory)
            try:
                os.write(fd, b"ganesha\n")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(name, dir_fd=directory)
        except OSError as error:
            raise VolumeError(f"{self.volume} does not take writes: {error.strerror}") from error

    def owned_link(self, seen: os.stat_result, rel: str) -> None:
        if seen.st_uid != self.owner:
            self.report.add(
                DRIFT,
                rel,
                f"is a link owned by uid {seen.st_uid}",
                "not changed: someone else wrote in the layout; check it",
                blocking=False,
            )

    def holder_of(self, target: str) -> str | None:
        """The node whose recovery root ``target`` names exactly, or None."""
        node = os.path.basename(os.path.dirname(os.path.dirname(target)))
        if valid_node_name(node) and target == self.root_of(node):
            return node
        return None

    def root_of(self, node: str) -> str:
        return recovery_root(self.volume, node)

    def where(self, rel: str) -> str:
        return os.path.join(self.volume, rel)

    def describe(self, parent: int, name: str, seen: os.stat_result) -> str:
        if stat.S_ISLNK(seen.st_mode):
            return f"a link to {safefs.read_link_at(parent, name, name)}"
        if stat.S_ISDIR(seen.st_mode):
            return "a directory"
        if stat.S_ISREG(seen.st_mode):
            return "a file"
        return "a special file"

    def _open(self, parent: int, rel: str) -> int:
        fd = safefs.open_directory_at(parent, os.path.basename(rel), self.where(rel))
        self.opened.append(fd)
        return fd


def replace_link(directory: int, name: str, target: str) -> None:
    """Point ``name`` at ``target``: a new link renamed over the old one (atomic)."""
    temporary = f".{name}.state-volume.{os.getpid()}.tmp"
    try:  # noqa: SIM105 (contextlib is kept off the agents' paths)
        os.unlink(temporary, dir_fd=directory)
    except FileNotFoundError:
        pass
    os.symlink(target, temporary, dir_fd=directory)
    try:
        os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except OSError:
        os.unlink(temporary, dir_fd=directory)
        raise


def _temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")
