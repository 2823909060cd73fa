"""Which pacemaker-attrd serves this node, from /proc: to notice that it restarted.

A restarted attrd has forgotten this node's transient attributes, and in
Pacemaker 2.1.5 it even wipes them cluster-wide: its peers' copy of a local
value is overridden by the local one, which is now unset
(``update_attr_on_host`` and ``broadcast_local_value`` in
``daemons/attrd/attrd_corosync.c``).  Nothing tells the agents, so
ganesha_mon records the attrd it last set its attributes through and sets
them again when another one answers.

Agents are children of ``pacemaker-execd``, itself a child of
``pacemakerd``, which also starts (and respawns) ``pacemaker-attrd``.  So
the identity costs a few small reads of /proc: the parent chain, then
pacemakerd's children.  ``PID:START`` (the start time in clock ticks since
boot) names one process for good, where a pid alone can be reused.  When
the chain is not Pacemaker's (an agent run by hand, by ocf-tester, by a
benchmark), the identity is ``""``: unknown, which never triggers anything.
"""

from __future__ import annotations

EXECD = "pacemaker-execd"
PACEMAKERD = "pacemakerd"
ATTRD = "pacemaker-attrd"  # 15 bytes: exactly what the kernel keeps of a name


def stat_fields(pid: int, proc: str = "/proc") -> tuple[str, list[str]] | None:
    """(comm, the fields after it) of ``/proc/PID/stat``, or None when there is no such process."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as stream:
            line = stream.read(4096)
    except OSError:
        return None
    start, end = line.find(b"("), line.rfind(b")")
    if start < 0 or end < start:
        return None
    fields = line[end + 1 :].decode("ascii", "replace").split()
    if len(fields) < 20:
        return None
    return line[start + 1 : end].decode("utf-8", "replace"), fields


def identity_of(pid: int, proc: str = "/proc") -> tuple[str, int, int] | None:
    """(comm, parent pid, start time) of a live process."""
    found = stat_fields(pid, proc)
    if found is None:
        return None
    comm, fields = found
    if fields[0] in ("Z", "X", "x") or not fields[1].isdigit() or not fields[19].isdigit():
        return None
    return comm, int(fields[1]), int(fields[19])


def pacemakerd_above(pid: int, proc: str = "/proc") -> tuple[int, int] | None:
    """(pid, start) of the pacemakerd whose executor started ``pid``, if that is what did."""
    me = identity_of(pid, proc)
    if me is None:
        return None
    execd = identity_of(me[1], proc)
    if execd is None or execd[0] != EXECD:
        return None
    pacemakerd = identity_of(execd[1], proc)
    if pacemakerd is None or pacemakerd[0] != PACEMAKERD:
        return None
    return execd[1], pacemakerd[2]


def parse_identity(text: str) -> tuple[int, int] | None:
    """``PID:START`` back into numbers."""
    pid, colon, start = text.partition(":")
    if not colon or not pid.isdigit() or not start.isdigit():
        return None
    return int(pid), int(start)


class ProcAttrdTracker:
    """:class:`~ganesha_agents.backends.protocols.AttrdTracker` through pacemakerd's children."""

    def __init__(self, pacemakerd: tuple[int, int] | None, proc: str = "/proc") -> None:
        """``pacemakerd`` is (pid, start time); None makes every identity unknown."""
        self.pacemakerd = pacemakerd
        self._proc = proc

    @classmethod
    def of_this_action(cls, proc: str = "/proc") -> ProcAttrdTracker:
        """The tracker for an agent process that Pacemaker's executor started."""
        import os

        return cls(pacemakerd_above(os.getpid(), proc), proc)

    def identity(self) -> str:
        if self.pacemakerd is None:
            return ""
        pid, start = self.pacemakerd
        found = identity_of(pid, self._proc)
        if found is None or found[0] != PACEMAKERD or found[2] != start:
            return ""
        try:
            with open(f"{self._proc}/{pid}/task/{pid}/children", "rb") as stream:
                children = stream.read(65536).split()
        except OSError:
            return ""
        for child in children:
            if not child.isdigit():
                continue
            seen = identity_of(int(child), self._proc)
            if seen is not None and seen[0] == ATTRD and seen[1] == pid:
                return f"{int(child)}:{seen[2]}"
        return ""
