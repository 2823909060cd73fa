"""The lab's record of itself: configuration, namespaces and every process it started.

It is a JSON file in the working directory, so that any process (a test, then
``ocfkit lab down`` after the test crashed) can find and stop exactly what
the lab started.  A process is recorded with its start time, so a pid that
the kernel has since given to someone else is never signalled.  Writers hold
an ``flock`` and replace the file atomically; readers never see half a file.
The file is read, written or locked only while its directory is root's
alone (:func:`ocfkit.lab.workdir.check_workdir`): what it says is acted on as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ocfkit.lab.processes import ProcessId
from ocfkit.lab.workdir import check_workdir
from ocfkit.trust import write_file

FORMAT = 1


@dataclass(frozen=True)
class LabConfig:
    nodes: int
    ganesha: bool = False
    fencing: bool = True
    subnet: str = "192.168.77"
    grace_period: int = 20
    lease_lifetime: int = 10
    #: Added to every pacemakerd's environment, which its daemons and agents inherit.
    pacemaker_env: dict[str, str] = field(default_factory=dict)
    #: ganesha's RecoveryRoot, ``{node}`` replaced by the node's name; None: in the node's
    #: own directory.  A shared state volume is a directory every node sees at one path.
    recovery_root: str | None = None
    #: ganesha's ``NFS_CORE_PARAM { Clustered }``; None leaves ganesha's default (true).
    clustered: bool | None = None
    #: One directory every node exports at ``/export`` (a shared volume, as GlusterFS gives
    #: a real cluster); each node's own directory is then exported at ``/node``.  None: each
    #: node exports its own directory at ``/export``.
    shared_export: str | None = None
    #: Where each node's ganesha.nfsd writes its pid (inside the node's private /run).
    ganesha_pid_file: str = "/run/ganesha/ganesha.pid"


@dataclass(frozen=True)
class ProcessRecord:
    node: str
    role: str
    pid: int
    start: int

    @property
    def id(self) -> ProcessId:
        return ProcessId(self.pid, self.start)


@dataclass
class LabState:
    workdir: str
    config: LabConfig
    phase: str = "starting"
    #: namespace name -> inode of its nsfs file: how processes inside are recognised.
    namespaces: dict[str, int] = field(default_factory=dict)
    processes: list[ProcessRecord] = field(default_factory=list)
    links_down: list[str] = field(default_factory=list)
    #: Files placed outside the working directory, removed at teardown.
    host_files: list[str] = field(default_factory=list)

    def records(self, node: str | None = None, role: str | None = None) -> list[ProcessRecord]:
        return [
            r
            for r in self.processes
            if (node is None or r.node == node) and (role is None or r.role == role)
        ]

    def latest(self, node: str, role: str) -> ProcessRecord | None:
        found = self.records(node, role)
        return found[-1] if found else None

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = FORMAT
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data: dict[str, Any] = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"lab state format {data.get('format')!r}, expected {FORMAT}")
        return cls(
            workdir=data["workdir"],
            config=LabConfig(**data["config"]),
            phase=data["phase"],
            namespaces={str(k): int(v) for k, v in data["namespaces"].items()},
            processes=[ProcessRecord(**p) for p in data["processes"]],
            links_down=list(data["links_down"]),
            host_files=list(data["host_files"]),
        )


class StateFile:
    """Load, save and update a lab's state file under a lock."""

    def __init__(self, path: Path, lock: Path) -> None:
        self.path = path
        self.lock = lock

    def exists(self) -> bool:
        return self.path.exists()

    def check(self) -> None:
        """Raise :class:`~ocfkit.lab.workdir.UnsafeWorkdir` unless only root can change the file."""
        check_workdir(self.path.parent)

    def load(self) -> LabState | None:
        self.check()
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return LabState.from_json(text)

    def save(self, state: LabState) -> None:
        self.check()
        write_file(self.path, state.to_json().encode("utf-8"), 0o644, sync=False)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.check()
        with self.lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def update(self) -> Iterator[LabState]:
        """``with store.update() as state:`` changes are saved when the block ends."""
        with self.locked():
            state = self.load()
            if state is None:
                raise FileNotFoundError(f"no lab state in {self.path}")
            yield state
            self.save(state)
