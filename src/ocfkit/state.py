"""Remembering, between actions, what this instance was asked to be.

Pacemaker forks a new agent process for every action, so an agent that must
know whether it was started (to answer a probe with 7, as Debian's Dummy does)
keeps a small file under ``HA_RSCTMP`` (``/run/resource-agents``), which is
cleared on reboot, exactly when Pacemaker also forgets.  The store is a
Protocol so tests and the demo keep it in memory instead.
"""

from __future__ import annotations

import os

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


class FileState:
    """One state file, written atomically (temporary file, then rename)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as stream:
                return stream.read(4096)
        except FileNotFoundError:
            return None

    def write(self, text: str = "") -> None:
        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        temporary = f"{self.path}.{os.getpid()}.tmp"
        try:
            with open(temporary, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            # The old state stays as it was; so must the directory (no stray file).
            try:  # noqa: SIM105 (contextlib is kept off the action path)
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def remove(self) -> None:
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
