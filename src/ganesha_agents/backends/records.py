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
removing first, and each step works relative to an open directory, so a path
component swapped underneath cannot redirect it.  A record read back is only
trusted when it names a recovery root of the layout (``nfs-ganesha/<node>/
nfs/ganesha`` on this volume) that is a directory owned by root on the
volume's file system: every node writes these links, and nothing may send a
takeover outside the state volume.
"""

from __future__ import annotations

import os
import stat

from ganesha_agents import state_volume
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
    """The real :class:`~ganesha_agents.backends.protocols.AddressRecords`: links on the volume."""

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
        directory = _open_directory(self.address_dir, "the address directory")
        try:
            try:
                target = os.readlink(name, dir_fd=directory)
            except FileNotFoundError:
                return None
            except OSError as error:
                raise RecordsError(
                    f"{self.address_dir}/{name} is not an address record: {error.strerror}"
                ) from error
            self._check_root(target, directory, f"{self.address_dir}/{name}")
            return target
        finally:
            os.close(directory)

    def own_root(self) -> str:
        """This node's recovery root on the volume."""
        return self.root

    def lead_to_record(self, address: str) -> None:
        """Make ``<own root>/<address>`` lead to ``.addresses/<address>``."""
        name = check_name(address, "an address record")
        wanted = os.path.join(self.address_dir, name)
        root = _open_directory(self.root, "this node's recovery root")
        try:
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
        finally:
            os.close(root)

    def claim(self, address: str, root: str) -> None:
        """Record that the records under ``root`` now hold ``address``'s clients."""
        name = check_name(address, "an address record")
        directory = _open_directory(self.address_dir, "the address directory")
        try:
            self._check_root(root, directory, f"recovery root {root}")
            _replace_link(directory, name, root)
        finally:
            os.close(directory)

    def _check_root(self, target: str, address_dir: int, what: str) -> None:
        """Trust ``target`` only as a root-owned recovery root of this volume's layout."""
        parent, node = os.path.split(os.path.dirname(os.path.dirname(target)))
        if (
            not os.path.isabs(target)
            or os.path.normpath(target) != target
            or parent != self.state_dir
            or target != str(state_volume.recovery_root(self.volume, node))
        ):
            raise RecordsError(
                f"{what} points at {target!r}, not a recovery root under {self.state_dir}"
            )
        try:
            seen = os.stat(target)
        except OSError as error:
            raise RecordsError(f"{what} points at {target}: {error.strerror}") from error
        if not stat.S_ISDIR(seen.st_mode):
            raise RecordsError(f"{what} points at {target}, which is not a directory")
        if seen.st_uid != self.owner_uid:
            raise RecordsError(f"{what} points at {target}, owned by uid {seen.st_uid}")
        if seen.st_dev != os.fstat(address_dir).st_dev:
            raise RecordsError(f"{what} points at {target}, off the state volume's file system")


def _open_directory(path: str, what: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise RecordsError(f"{what} {path} cannot be opened: {error.strerror}") from error


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
