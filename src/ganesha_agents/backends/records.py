"""Whose recovery records hold an address's clients: one symlink per address on shared storage.

ganesha 4.3's fs recovery backend files each client under the recovery root
of the server it talks to (``<RecoveryRoot>/v4recov``, with ``Clustered =
false``), and ``grace("5:<ADDR>")`` reads ``<RecoveryRoot>/<ADDR>/v4recov``.
Records therefore follow the *node*, while clients follow the *address*.  The
takeover agent bridges the two with two links:

- ``<address_dir>/<ADDR>`` -> the recovery root of the node that last took
  the address over (absolute, resolved: valid on every node, because the
  shared state volume is mounted at the same path everywhere).  This is the
  durable record of the previous holder: written by the new holder only once
  its takeover is confirmed, read by the next one, kept on shared storage so
  it outlives the holder;
- ``<recovery_root>/<ADDR>`` -> ``<address_dir>/<ADDR>``, in the taking
  node's own recovery root, where ganesha looks.

Both are replaced atomically (a new link renamed over the old), never by
removing first, and every step works relative to an open directory so a
path component swapped underneath cannot redirect it.  A link target read
back is only trusted when it is an absolute path to a directory owned by
root on the same file system as ``address_dir`` (another node writes these
links; nothing may send a takeover outside the state volume).
"""

from __future__ import annotations

import os
import stat

from ocfkit.errors import GenericError


class RecordsError(GenericError):
    """The address records cannot be read or written; the reason says which and why."""


def check_address(address: str) -> str:
    """``address`` if it can name a link (an IP address: no slash, no dot-only name)."""
    if (
        not address
        or "/" in address
        or "\0" in address
        or address.strip(".") == ""
        or not address.isprintable()
        or len(address) > 64
    ):
        raise RecordsError(f"{address!r} cannot name an address record")
    return address


class AddressLinks:
    """The real :class:`~ganesha_agents.backends.protocols.AddressRecords`: links on disk."""

    def __init__(
        self,
        recovery_root: str,
        address_dir: str,
        *,
        owner_uid: int = 0,
    ) -> None:
        self.recovery_root = recovery_root
        self.address_dir = address_dir
        self.owner_uid = owner_uid

    # ----------------------------------------------------------------- reading

    def holder(self, address: str) -> str | None:
        """The recovery root that holds ``address``'s clients, or None when none is recorded."""
        name = check_address(address)
        directory = self._open_directory(self.address_dir, "the address directory")
        try:
            try:
                target = os.readlink(name, dir_fd=directory)
            except FileNotFoundError:
                return None
            except OSError as error:
                raise RecordsError(
                    f"{self.address_dir}/{name} is not an address record: {error.strerror}"
                ) from error
            self._check_target(target, directory, f"{self.address_dir}/{name}")
            return target
        finally:
            os.close(directory)

    def own_root(self) -> str:
        """This node's recovery root, resolved: what other nodes must see as its records."""
        resolved = os.path.realpath(self.recovery_root)
        directory = self._open_directory(self.address_dir, "the address directory")
        try:
            self._check_target(resolved, directory, f"recovery_root {self.recovery_root}")
        finally:
            os.close(directory)
        return resolved

    # ----------------------------------------------------------------- writing

    def lead_to_record(self, address: str) -> None:
        """Make ``<recovery_root>/<address>`` lead to ``<address_dir>/<address>``."""
        name = check_address(address)
        wanted = os.path.join(self.address_dir, name)
        root = self._open_directory(self.recovery_root, "recovery_root")
        try:
            try:
                current = os.readlink(name, dir_fd=root)
            except FileNotFoundError:
                current = None
            except OSError as error:
                # Something that is not a link (a directory ganesha or a person made).
                raise RecordsError(
                    f"{self.recovery_root}/{name} exists and is not a link: {error.strerror}"
                ) from error
            if current != wanted:
                _replace_link(root, name, wanted)
        finally:
            os.close(root)

    def claim(self, address: str, root: str) -> None:
        """Record that the records under ``root`` now hold ``address``'s clients."""
        name = check_address(address)
        directory = self._open_directory(self.address_dir, "the address directory")
        try:
            self._check_target(root, directory, f"recovery root {root}")
            _replace_link(directory, name, root)
        finally:
            os.close(directory)

    # ------------------------------------------------------------------ checks

    def _open_directory(self, path: str, what: str) -> int:
        try:
            return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise RecordsError(f"{what} {path} cannot be opened: {error.strerror}") from error

    def _check_target(self, target: str, address_dir: int, what: str) -> None:
        """Trust ``target`` only as a root-owned directory on ``address_dir``'s file system."""
        if not os.path.isabs(target):
            raise RecordsError(f"{what} points at {target!r}, not an absolute path")
        try:
            seen = os.stat(target)
        except OSError as error:
            raise RecordsError(f"{what} points at {target}: {error.strerror}") from error
        if not stat.S_ISDIR(seen.st_mode):
            raise RecordsError(f"{what} points at {target}, which is not a directory")
        if seen.st_uid != self.owner_uid:
            raise RecordsError(f"{what} points at {target}, owned by uid {seen.st_uid}")
        if seen.st_dev != os.fstat(address_dir).st_dev:
            raise RecordsError(
                f"{what} points at {target}, outside the file system of {self.address_dir}"
            )


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
