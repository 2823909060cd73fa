"""Whose recovery records hold an address's clients: one symlink per address on the state volume.

ganesha 4.3's fs recovery backend files each client under the recovery root
of the server it talks to (``<RecoveryRoot>/v4recov``, with ``Clustered =
false``), and ``grace("5:<ADDR>")`` reads ``<RecoveryRoot>/<ADDR>/v4recov``.
Records follow the *node*, clients follow the *address*.  On the shared
state volume (:mod:`ganesha_agents.state_volume`) two links bridge the two:

- ``nfs-ganesha/.addresses/<ADDR>`` -> the recovery root of the node that
  last took the address over.  This is the durable record of the previous
  holder: written by the new holder only once its takeover is confirmed,
  read by the next one, kept on shared storage so it outlives the holder;
- ``nfs-ganesha/<node>/nfs/ganesha/<ADDR>`` -> that record, in the taking
  node's own recovery root, where its ganesha looks.

Both are replaced atomically (a new link renamed over the old), never by
removing first, and each step works relative to an open directory reached
without following anything on the volume, so a path component swapped for a
link cannot redirect it.  A record read back is only trusted when it names a
recovery root of the layout (``nfs-ganesha/<node>/nfs/ganesha`` on this
volume, ``<node>`` a valid node name) that opens, one directory at a time and
never through a link, as directories owned by root, not writable by group or
others, on the volume's file system: every node writes these links, and
nothing may send a takeover outside the state volume.
"""

from __future__ import annotations

import errno
import os
import stat

from ganesha_agents import state_volume
from ganesha_agents.backends import safefs
from ocfkit.errors import GenericError


class RecordsError(GenericError):
    """The address records cannot be read or written; the reason says which and why."""


def check_name(name: str, what: str) -> str:
    """``name`` if it can be one path component (an address, a node name)."""
    if (
        not name
        or "/" in name
        or "\0" in name
        or name.startswith(".")
        or not name.isprintable()
        or len(name) > 255
    ):
        raise RecordsError(f"{name!r} cannot name {what}")
    return name


class AddressLinks:
    """The real :class:`~ganesha_agents.backends.protocols.AddressRecords`: links on the volume.

    Every node (and every NFS client whose root is not squashed) can write
    the volume, so nothing on it is followed: the volume's own path is walked
    as :mod:`~ganesha_agents.backends.safefs` says (root's alone, no link of
    another user), and below it each directory of the layout is opened with
    ``O_NOFOLLOW`` from its parent, must be the owner's, not writable by
    group or others, and on the volume's file system.  A link planted in
    place of a layout directory therefore fails the action instead of
    leading root's writes (or a takeover) somewhere else.
    """

    def __init__(self, volume: str, node: str, *, owner_uid: int = 0) -> None:
        self.volume = os.path.normpath(volume)
        self.node = check_name(node, "a node")
        self.owner_uid = owner_uid
        self.state_dir = os.path.join(self.volume, state_volume.STATE_DIR)
        self.address_dir = str(state_volume.address_dir(self.volume))
        self.root = str(state_volume.recovery_root(self.volume, self.node))

    def holder(self, address: str) -> str | None:
        """The recovery root that holds ``address``'s clients, or None when none is recorded."""
        name = check_name(address, "an address record")
        with _Layout(self.volume, self.owner_uid) as layout:
            directory = layout.open(state_volume.STATE_DIR, state_volume.ADDRESSES)
            try:
                target = os.readlink(name, dir_fd=directory)
            except FileNotFoundError:
                return None
            except OSError as error:
                raise RecordsError(
                    f"{self.address_dir}/{name} is not an address record: {error.strerror}"
                ) from error
            self._check_root(layout, target, f"{self.address_dir}/{name}")
            return target

    def own_root(self) -> str:
        """This node's recovery root on the volume."""
        return self.root

    def lead_to_record(self, address: str) -> None:
        """Make ``<own root>/<address>`` lead to ``.addresses/<address>``."""
        name = check_name(address, "an address record")
        wanted = os.path.join(self.address_dir, name)
        with _Layout(self.volume, self.owner_uid) as layout:
            root = layout.open(state_volume.STATE_DIR, self.node, "nfs", "ganesha")
            try:
                current = os.readlink(name, dir_fd=root)
            except FileNotFoundError:
                current = None
            except OSError as error:
                # Something that is not a link (a directory ganesha or a person made).
                raise RecordsError(
                    f"{self.root}/{name} exists and is not a link: {error.strerror}"
                ) from error
            if current != wanted:
                _replace_link(root, name, wanted)

    def claim(self, address: str, root: str) -> None:
        """Record that the records under ``root`` now hold ``address``'s clients."""
        name = check_name(address, "an address record")
        with _Layout(self.volume, self.owner_uid) as layout:
            directory = layout.open(state_volume.STATE_DIR, state_volume.ADDRESSES)
            self._check_root(layout, root, f"recovery root {root}")
            _replace_link(directory, name, root)

    def _check_root(self, layout: _Layout, target: str, what: str) -> None:
        """Trust ``target`` only as a recovery root of this volume's layout, reached unfollowed."""
        parent, node = os.path.split(os.path.dirname(os.path.dirname(target)))
        if (
            not os.path.isabs(target)
            or os.path.normpath(target) != target
            or parent != self.state_dir
            or not state_volume.valid_node_name(node)
            or target != str(state_volume.recovery_root(self.volume, node))
        ):
            raise RecordsError(
                f"{what} points at {target!r}, not a recovery root under {self.state_dir}"
            )
        layout.open(state_volume.STATE_DIR, node, "nfs", "ganesha", what=f"{what} points at")


class _Layout:
    """The volume, opened once per call, and directories of its layout opened below it."""

    def __init__(self, volume: str, owner_uid: int) -> None:
        self.volume = volume
        self.owner_uid = owner_uid
        self.opened: list[int] = []
        try:
            fd, _ = safefs.open_trusted_directory(
                volume, safefs.trusted_owners(owner_uid), "the state volume"
            )
        except GenericError as error:
            raise RecordsError(f"the state volume cannot be opened: {error.reason}") from error
        self.opened.append(fd)
        self.device = os.fstat(fd).st_dev

    def __enter__(self) -> _Layout:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.opened:
            os.close(fd)
        self.opened.clear()

    def open(self, *names: str, what: str = "") -> int:
        """The directory ``names`` lead to from the volume: never through a link, the owner's."""
        directory = self.opened[0]
        here = self.volume
        for name in names:
            here = f"{here}/{name}"
            said = f"{what} {here}" if what else f"{here}"
            try:
                directory = os.open(name, _OPEN_DIRECTORY, dir_fd=directory)
            except OSError as error:
                why = _why(error, directory, name)
                raise RecordsError(f"{said} cannot be opened: {why}") from error
            self.opened.append(directory)
            seen = os.fstat(directory)
            if seen.st_dev != self.device:
                raise RecordsError(f"{said}: off the state volume's file system")
            if seen.st_uid != self.owner_uid:
                raise RecordsError(f"{said}: owned by uid {seen.st_uid}")
            if safefs.writable_by_others(seen):
                mode = stat.S_IMODE(seen.st_mode)
                raise RecordsError(f"{said}: writable by group or others (mode {mode:04o})")
        return directory


_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _why(error: OSError, parent: int, name: str) -> str:
    """Why ``name`` did not open as a directory; a link says so (ENOTDIR or ELOOP otherwise)."""
    if error.errno in (errno.ENOTDIR, errno.ELOOP):
        try:
            seen = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except OSError:
            pass
        else:
            if stat.S_ISLNK(seen.st_mode):
                return "a symbolic link, not followed"
    return error.strerror or str(error)


def _replace_link(directory: int, name: str, target: str) -> None:
    """Point ``name`` (in the open ``directory``) at ``target``: a new link renamed over it."""
    temporary = f".{name}.{os.getpid()}.tmp"
    try:
        os.unlink(temporary, dir_fd=directory)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise RecordsError(f"cannot clear {temporary}: {error.strerror}") from error
    try:
        os.symlink(target, temporary, dir_fd=directory)
        os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except OSError as error:
        try:  # noqa: SIM105 (contextlib is kept off the action path)
            os.unlink(temporary, dir_fd=directory)
        except OSError:
            pass
        raise RecordsError(f"cannot point {name} at {target}: {error.strerror}") from error
