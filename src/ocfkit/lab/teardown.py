"""Taking a lab down completely, from any process, however far it came up.

Teardown works from what is recorded (the state file) and from what can be
found (namespaces named with the lab's prefix), so it also cleans up after
a lab whose ``up`` failed half-way or whose test process was killed.  In
order:

1. Pacemaker is asked to stop (SIGTERM to pacemakerd), so agents' stop
   actions run; it is killed if it takes longer than the grace period;
2. every other recorded process but the namespace holders is killed;
3. whatever still runs inside the lab's network namespaces is killed: the
   Pacemaker daemons' children, programs resource agents started.  Nothing
   gets into those namespaces except through the lab, so this is still
   stopping only what the lab started;
4. the holders are killed and the namespaces deleted;
5. files the lab placed outside its working directory are removed.

Every step tolerates what is already gone, so running it twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ocfkit.lab import network, processes
from ocfkit.lab.layout import Layout
from ocfkit.lab.progress import Progress
from ocfkit.lab.state import LabState


def _current_inodes(names: list[str]) -> set[int]:
    found = set()
    for name in names:
        try:
            found.add(network.inode(name))
        except OSError:
            continue
    return found


def teardown(
    layout: Layout,
    state: LabState | None,
    progress: Progress,
    *,
    graceful: bool = True,
    pacemaker_grace: float = 30.0,
    settle: Callable[[], object] | None = None,
) -> list[str]:
    """Stop and remove everything; returns what could not be removed (empty when clean).

    ``settle`` waits for the cluster to finish what it is doing before
    Pacemaker is stopped: a node stopping while the DC waits for its probes
    (it has just joined) leaves the DC waiting for the lost results, which
    took 30 s and a SIGKILL where an idle cluster stops in under a second.
    """
    problems: list[str] = []
    records = state.processes if state else []
    names = sorted(set(state.namespaces if state else ()) | set(network.existing(layout.prefix)))
    inodes = set(state.namespaces.values() if state else ()) | _current_inodes(names)

    def alive(role: str | None = None, *, but: str | None = None) -> list[processes.ProcessId]:
        return [
            r.id
            for r in records
            if (role is None or r.role == role) and r.role != but and processes.is_alive(r.id)
        ]

    if graceful and alive("pacemakerd"):
        if settle is not None:
            settle()
        left = processes.stop(alive("pacemakerd"), grace=pacemaker_grace)
        problems += [f"pacemakerd {p} survived SIGKILL" for p in left]
        progress.step("pacemaker stopped")
    holders = set(alive("holder"))
    processes.kill(alive(but="holder"))
    strays = [p for p in processes.in_namespaces(inodes) if p not in holders]
    processes.kill(strays)
    left = processes.kill([*holders, *processes.in_namespaces(inodes)])
    problems += [f"process {p} in the lab's namespaces survived SIGKILL" for p in left]
    progress.step("processes stopped")

    problems += network.delete(names)
    for name in state.host_files if state else ():
        try:
            Path(name).unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            problems.append(f"cannot remove {name}: {error}")
    progress.step("namespaces removed")
    return problems
