"""Remembering, between actions, what this instance was asked to be.

Pacemaker forks a new agent process for every action, so an agent that must
know whether it was started (to answer a probe with 7, as Debian's Dummy does)
keeps a small file under ``HA_RSCTMP`` (``/run/resource-agents``), which is
cleared on reboot, exactly when Pacemaker also forgets.  The store is a
Protocol so tests and the demo keep it in memory instead.

A state file decides what a probe tells the cluster, and root writes it, so
nobody but root may have a say in it: its directory must be trusted (see
:mod:`ocfkit.trust`: owned by root, writable by nobody else, all the way up),
a symbolic link or anything but a regular file of root's at its place is an
error, never followed, and the new content goes to a fresh temporary file
(created exclusively, never through a link) renamed over the old one.  A
directory that fails the rule makes every action fail with
``OCF_ERR_CONFIGURED`` and the reason, instead of trusting what others wrote.
"""

from __future__ import annotations

import errno
import os
import stat

from ocfkit.errors import ConfigurationError
from ocfkit.trust import (
    UntrustedPathError,
    make_directories,
    trusted_owners,
    why_untrusted,
    writers,
)
from ocfkit.trust import write_file as _write_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class InstanceState(Protocol):
        """A small piece of text that survives between actions; ``None`` when absent."""

        def read(self) -> str | None: ...

        def write(self, text: str = "") -> None: ...

        def remove(self) -> None: ...

    class StateStore(Protocol):
        """Hands out one :class:`InstanceState` per key (agent and instance)."""

        def state(self, key: str) -> InstanceState: ...


_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@+-")


def safe_key(key: str) -> str:
    """A file name from an untrusted instance name: no slashes, no dots-only names."""
    cleaned = "".join(c if c in _SAFE else "_" for c in key[:200])
    return cleaned if cleaned.strip(".") else "_" + cleaned


class UnsafeStateError(ConfigurationError):
    """A state file or its directory could be steered by someone other than root."""


class FileState:
    """One state file, in a directory only root can write, replaced atomically."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _check_directory(self) -> None:
        directory = os.path.dirname(self.path)
        reason = why_untrusted(directory, missing_ok=True)
        if reason is not None:
            raise UnsafeStateError(f"state directory {directory} is not safe: {reason}")

    def read(self) -> str | None:
        self._check_directory()
        try:
            # O_NONBLOCK: a FIFO at the path must not hang the monitor.
            fd = os.open(
                self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
            )
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UnsafeStateError(
                    f"state file {self.path} is a symbolic link, which is never followed"
                ) from None
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafeStateError(f"state file {self.path} is not a regular file")
            if info.st_uid not in trusted_owners():
                raise UnsafeStateError(f"state file {self.path} is not owned by root")
            if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise UnsafeStateError(
                    f"state file {self.path} is writable by {writers(info.st_mode)}"
                )
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
        return data.decode("utf-8", errors="replace")

    def write(self, text: str = "") -> None:
        data = text.encode("utf-8")  # before anything is touched: a bad text changes nothing
        directory = os.path.dirname(self.path)
        try:
            make_directories(directory, 0o755)
        except UntrustedPathError as error:
            raise UnsafeStateError(f"state directory {directory} is not safe: {error}") from None
        # /run is a tmpfs, and a state file does not outlive a reboot: no fsync.
        _write_file(self.path, data, 0o644, sync=False)

    def remove(self) -> None:
        self._check_directory()
        try:  # noqa: SIM105 (contextlib is kept off the action path)
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class DirectoryStateStore:
    """State files in one directory, normally ``HA_RSCTMP``."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def state(self, key: str) -> FileState:
        return FileState(os.path.join(self.directory, safe_key(key) + ".state"))


class MemoryState:
    """An :class:`InstanceState` held in a dict (tests, the demo)."""

    def __init__(self, store: dict[str, str], key: str) -> None:
        self._store = store
        self._key = key

    def read(self) -> str | None:
        return self._store.get(self._key)

    def write(self, text: str = "") -> None:
        self._store[self._key] = text

    def remove(self) -> None:
        self._store.pop(self._key, None)


class MemoryStateStore:
    """A :class:`StateStore` in memory; one per simulated node."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def state(self, key: str) -> MemoryState:
        return MemoryState(self.values, key)
