"""The real file system behind ganesha_nfsd: ``/var/lib`` here, its directories on the volume.

Both satisfy the Protocols of :mod:`ganesha_agents.backends.protocols`.
``/var/lib`` is opened once per action by walking it from ``/`` (see
:mod:`ganesha_agents.backends.safefs`: every directory on the way root's and
not writable by others, no link of another user followed); every step after
that is relative to that open directory and touches only the three names of
:mod:`ganesha_agents.nfs_state`.  A name is looked at with ``lstat`` and
``readlink``, never followed; a removal is of a link or of the empty marker,
never of a directory; a directory only ever moves by rename.
"""

from __future__ import annotations

import os
import stat

from ganesha_agents import nfs_state, state_volume
from ganesha_agents.backends import safefs
from ganesha_agents.nfs_state import Entry
from ocfkit.errors import GenericError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")


class LocalNFSDirectory:
    """``/var/lib/nfs`` and ganesha_nfsd's two names beside it (the real ``NFSDirectory``)."""

    def __init__(self, parent: str = nfs_state.PARENT, *, owner_uid: int = 0) -> None:
        self.parent = parent
        self.owner_uid = owner_uid
        self._fd: int | None = None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def fd(self) -> int:
        if self._fd is None:
            self._fd, _ = safefs.open_trusted_directory(
                self.parent, safefs.trusted_owners(self.owner_uid), "the directory of /var/lib/nfs"
            )
        return self._fd

    def path(self, name: str) -> str:
        return f"{self.parent}/{name}"

    def inspect(self, name: str) -> Entry:
        self._check(name)
        seen = safefs.lstat_at(self.fd, name, self.path(name))
        if seen is None:
            return Entry(nfs_state.ABSENT)
        if stat.S_ISLNK(seen.st_mode):
            return Entry(nfs_state.LINK, safefs.read_link_at(self.fd, name, self.path(name)))
        if stat.S_ISDIR(seen.st_mode):
            return Entry(nfs_state.DIRECTORY)
        if self._is_marker(name, seen):
            return Entry(nfs_state.MARKER)
        kind = "a file" if stat.S_ISREG(seen.st_mode) else "a special file"
        return Entry(nfs_state.OTHER, detail=f"{kind} owned by uid {seen.st_uid}")

    def symlink(self, name: str, target: str) -> None:
        self._check(name)
        self._do(f"link {self.path(name)} to {target}", os.symlink, target, name, dir_fd=self.fd)

    def exchange(self, name: str, other: str) -> bool:
        self._check(name, other)
        try:
            return safefs.rename_at(self.fd, name, other, safefs.RENAME_EXCHANGE)
        except OSError as error:
            raise GenericError(
                f"cannot swap {self.path(name)} and {self.path(other)}: {error.strerror}"
            ) from error

    def rename(self, name: str, new_name: str) -> None:
        self._check(name, new_name)
        self._do(
            f"rename {self.path(name)} to {self.path(new_name)}",
            safefs.rename_noreplace,
            self.fd,
            name,
            new_name,
        )

    def replace_link(self, name: str, link: str) -> None:
        self._check(name, link)
        for each in (name, link):
            if self.inspect(each).kind != nfs_state.LINK:
                raise GenericError(f"{self.path(each)} is not a link: not replaced")
        self._do(
            f"rename {self.path(name)} over {self.path(link)}",
            os.rename,
            name,
            link,
            src_dir_fd=self.fd,
            dst_dir_fd=self.fd,
        )

    def unlink(self, name: str) -> None:
        self._check(name)
        if self.inspect(name).kind != nfs_state.LINK:
            raise GenericError(f"{self.path(name)} is not a link: not removed")
        self._do(f"remove the link {self.path(name)}", os.unlink, name, dir_fd=self.fd)

    def mark(self, name: str) -> None:
        self._check(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = self._do(f"create {self.path(name)}", os.open, name, flags, 0o644, dir_fd=self.fd)
        os.close(fd)

    def unmark(self, name: str) -> None:
        self._check(name)
        if self.inspect(name).kind != nfs_state.MARKER:
            raise GenericError(f"{self.path(name)} is not ganesha_nfsd's marker: not removed")
        self._do(f"remove {self.path(name)}", os.unlink, name, dir_fd=self.fd)

    def sync(self) -> None:
        self._do(f"sync {self.parent}", safefs.sync_directory, self.fd)

    def _is_marker(self, name: str, seen: os.stat_result) -> bool:
        return (
            name == nfs_state.LOCAL
            and stat.S_ISREG(seen.st_mode)
            and seen.st_size == 0
            and seen.st_uid in safefs.trusted_owners(self.owner_uid)
            and seen.st_nlink == 1
        )

    @staticmethod
    def _check(*names: str) -> None:
        for name in names:
            if name not in nfs_state.NAMES:
                raise GenericError(f"{name!r} is not one of ganesha_nfsd's names")

    @staticmethod
    def _do(what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except OSError as error:
            raise GenericError(f"cannot {what}: {error.strerror}") from error


class VolumeDirectories:
    """This node's directories on the mounted state volume (the real ``NodeVolume``)."""

    def __init__(self, volume: str, *, owner_uid: int = 0, require_mount: bool = True) -> None:
        self.volume = os.path.normpath(volume)
        self.owner_uid = owner_uid
        self.require_mount = require_mount

    def node_nfs(self, node: str) -> str:
        return state_volume.node_nfs(self.volume, node)

    def usable(self) -> str:
        report = self._survey([], state_volume.CHECK, probe_write=True)
        if report.mounted is None:
            return f"{self.volume} (not a mount point), writable"
        return f"{self.volume} ({report.mounted}), writable"

    def prepare(self, node: str) -> list[str]:
        report = self._survey([node], state_volume.FIX, probe_write=True)
        wrong = [str(item) for item in report.drift]
        wrong += self._resolves(node, report)
        if wrong:
            raise GenericError("the state volume is not right for this node: " + "; ".join(wrong))
        return [
            f"{item.status} {item.path} ({item.message})"
            for item in report.of(state_volume.CREATED, state_volume.FIXED)
        ]

    def problems(self, node: str) -> list[str]:
        try:
            report = self._survey([node], state_volume.CHECK)
        except GenericError as error:
            return [error.reason]
        return [str(item) for item in report.drift] + self._resolves(node, report)

    def _survey(
        self, nodes: list[str], change: str, *, probe_write: bool = False
    ) -> state_volume.Report:
        try:
            return state_volume.survey(
                self.volume,
                nodes,
                change=change,
                owner_uid=self.owner_uid,
                require_mount=self.require_mount,
                whole=False,
                probe_write=probe_write,
            )
        except ValueError as error:
            raise GenericError(str(error)) from error

    def _resolves(self, node: str, report: state_volume.Report) -> list[str]:
        """The path the link (or RecoveryRoot) names leads to the directory just checked."""
        found = report.node_dirs.get(node)
        if found is None:
            return []
        wanted = self.node_nfs(node)
        try:
            fd, _ = safefs.open_trusted_directory(
                wanted, safefs.trusted_owners(self.owner_uid), "the node's directory"
            )
        except GenericError as error:
            return [error.reason]
        try:
            seen = os.fstat(fd)
        finally:
            os.close(fd)
        if (seen.st_dev, seen.st_ino) != found:
            return [f"{wanted} does not lead to the directory found on the volume"]
        return []
