"""How long the D-Bus grace call takes to succeed, or to give up, in each way it can end.

Pacemaker waits for every notification before it goes on with a transition,
so the time a grace call takes to give up is time every virtual IP waits.
Each case runs the real backend (``GaneshaDaemon``, in this process, with
pydbus imported beforehand) with the deadline ganesha_grace's notify has
(10 s), and reports min / median / max wall time and the attempts the server
saw (in brackets: as the give-up reason says, when no server counts them):

- a fake ganesha on a private bus (``tests/real/fake_ganesha.py``, no root
  needed) that refuses with an error reply (as ganesha 4.3 does), says
  ``(false, message)``, or hangs;
- no ganesha on the bus, with a stale pid file (not running) or with a pid
  file a live process holds (alive, not on the bus: retried until the budget);
- whole post-stop notifications of ganesha_grace, as Pacemaker runs them
  (a fresh process each), with ganesha absent, refusing or hung: how long a
  notification holds the transition;
- as root with nfs-ganesha installed, a real ganesha.nfsd on its own bus
  (``tests/real/ganesha_node.py``): one grace call, one ``get_grace()``, and
  ``enter_grace()`` (both, the takeover's step).

``--src DIR`` imports the agents from another source tree, to measure an
older version the same way (an older ``grace()`` has no budget: its cases run
until the deadline).  Run: ``python benchmarks/grace_call.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTIFY_TIMEOUT = 10.0
BUDGET = 3.0
"""The budget of the cases that run until it: ganesha_grace's notify budget."""


@dataclass(frozen=True)
class Figure:
    label: str
    runs: int
    min_ms: float
    median_ms: float
    max_ms: float
    attempts: str
    outcome: str


def measure(
    label: str, runs: int, call: Callable[[], object], attempts: Callable[[], int] | None = None
) -> Figure:
    samples: list[float] = []
    seen: list[int] = []
    outcome = ""
    for _ in range(runs):
        before = attempts() if attempts is not None else 0
        started = time.perf_counter()
        try:
            result = call()
            outcome = f"returned {result!r}"
        except Exception as error:
            outcome = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        samples.append((time.perf_counter() - started) * 1000)
        if attempts is not None:
            seen.append(attempts() - before)
    if not seen:
        # Not counted by a server: as the give-up reason says ("after N attempts").
        said = re.search(r"after (\d+) attempts? in", outcome)
        shown = f"({said.group(1)})" if said else "-"
    elif min(seen) == max(seen):
        shown = str(seen[0])
    else:
        shown = f"{min(seen)}-{max(seen)}"
    return Figure(
        label, runs, min(samples), statistics.median(samples), max(samples), shown, outcome
    )


def daemon(bus_address: str, pid_file: Path) -> Any:
    """A fresh backend as a notification builds it: a 10 s deadline, the real clock."""
    from ganesha_agents.backends.ganesha import GaneshaDaemon
    from ocfkit.clock import SystemClock
    from ocfkit.deadline import Deadline

    clock = SystemClock()
    return GaneshaDaemon(
        Deadline(clock, NOTIFY_TIMEOUT), clock, pid_files=[str(pid_file)], bus_address=bus_address
    )


def budgeted(method: Any, *args: Any, budget: float | None) -> Any:
    """Call with ``budget=`` when this version of the backend takes one."""
    if budget is not None and "budget" in inspect.signature(method).parameters:
        return method(*args, budget=budget)
    return method(*args)


def fake_cases(root: Path, runs: int, slow_runs: int) -> list[Figure]:
    from tests.real.fake_ganesha import FakeGanesha, PrivateBus

    from ganesha_agents.backends.ganesha import GaneshaDaemon
    from ganesha_agents.standins import ganesha_pid_holder

    if "budget" not in inspect.signature(GaneshaDaemon.grace).parameters:
        runs = slow_runs  # a backend without budgets waits for the deadline in every case
    bus = PrivateBus(root)
    bus.start()
    stale = root / "stale.pid"
    stale.write_text("999999999\n")  # above pid_max: no such process
    figures = []
    try:
        for mode, label in (
            ("error", "refusal: D-Bus error reply (ganesha 4.3's)"),
            ("false", "refusal: (false, message) reply"),
        ):
            fake = FakeGanesha(bus, mode)
            fake.start()
            try:
                figures.append(
                    measure(
                        label,
                        runs,
                        lambda: daemon(bus.address, stale).grace("5:node2"),
                        lambda fake=fake: len(fake.calls()),  # type: ignore[misc]
                    )
                )
            finally:
                fake.stop()
        figures.append(
            measure(
                "absent from the bus, pid file stale (not running)",
                runs,
                lambda: daemon(bus.address, stale).grace("5:node2"),
            )
        )
        live = root / "live.pid"
        with ganesha_pid_holder(live):
            figures.append(
                measure(
                    f"absent from the bus, pid file alive (budget {BUDGET:g} s)",
                    slow_runs,
                    lambda: budgeted(daemon(bus.address, live).grace, "5:node2", budget=BUDGET),
                )
            )
        fake = FakeGanesha(bus, "hang")
        fake.start()
        try:
            figures.append(
                measure(
                    f"hung: never replies (budget {BUDGET:g} s)",
                    slow_runs,
                    lambda: budgeted(daemon(bus.address, stale).grace, "5:node2", budget=BUDGET),
                    lambda: len(fake.calls()),
                )
            )
        finally:
            fake.stop()
    finally:
        bus.stop()
    return figures


NOTIFY = """
import sys
from ganesha_agents.grace import GaneshaGrace
env = {"OCF_RESOURCE_INSTANCE": "nfs-grace", "HA_RSCTMP": sys.argv[1],
       "OCF_RESKEY_CRM_meta_timeout": "10000", "OCF_RESKEY_CRM_meta_on_node": "node1",
       "HA_LOGFILE": sys.argv[1] + "/log", "HA_debug": "0",
       "OCF_RESKEY_CRM_meta_notify_type": "post", "OCF_RESKEY_CRM_meta_notify_operation": "stop",
       "OCF_RESKEY_CRM_meta_notify_stop_uname": "node2 node3",
       "OCF_RESKEY_CRM_meta_notify_stop_resource": "nfs-grace:1 nfs-grace:2"}
sys.exit(GaneshaGrace().main(["ganesha_grace", "notify"], env))
"""


def notify_cases(root: Path, runs: int, src: Path | None) -> list[Figure]:
    """Whole post-stop notifications (two stopped nodes), each a fresh process.

    ganesha_grace looks for ganesha's pid file at its default places: on a
    machine without a ganesha.nfsd of its own, "absent" is "not running".
    """
    import subprocess

    from tests.real.fake_ganesha import FakeGanesha, PrivateBus

    from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES, find_alive

    verdicts = find_alive(DEFAULT_PID_FILES)
    if verdicts and verdicts[-1].alive:
        print("a ganesha.nfsd runs on this host: no whole-notification cases", file=sys.stderr)
        return []
    bus = PrivateBus(root / "notify")
    bus.directory.mkdir()
    bus.start()
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus.address}
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())

    def notify() -> int:
        rsctmp = Path(tempfile.mkdtemp(dir=root))
        done = subprocess.run(
            [sys.executable, "-c", NOTIFY, str(rsctmp)],
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode(errors="replace"))
        return done.returncode

    figures = []
    try:
        for mode in ("absent", "error", "hang"):
            fake = None if mode == "absent" else FakeGanesha(bus, mode)
            if fake is not None:
                fake.start()
            try:
                figures.append(
                    measure(
                        f"whole post-stop notify, 2 nodes, ganesha {mode}",
                        runs,
                        notify,
                        None if fake is None else lambda fake=fake: len(fake.calls()),  # type: ignore[misc]
                    )
                )
            finally:
                if fake is not None:
                    fake.stop()
    finally:
        bus.stop()
    return figures


@contextmanager
def real_ganesha(root: Path) -> Iterator[Any]:
    from tests.real.ganesha_node import GaneshaNode, missing_programs

    if os.geteuid() != 0 or missing_programs():
        yield None
        return
    node = GaneshaNode(root / "ganesha", grace_period=3, lease_lifetime=2)
    node.start()
    try:
        yield node
    finally:
        node.stop()


def real_cases(root: Path, runs: int) -> list[Figure]:
    with real_ganesha(root) as node:
        if node is None:
            print("no real ganesha.nfsd here (needs root and nfs-ganesha)", file=sys.stderr)
            return []
        pid_file = node.pid_file

        def fresh() -> Any:
            return daemon(node.bus_address, pid_file)

        figures = [
            measure("real ganesha.nfsd: grace('0:')", runs, lambda: fresh().grace("0:")),
            measure("real ganesha.nfsd: get_grace()", runs, lambda: fresh().in_grace()),
        ]
        if hasattr(fresh(), "enter_grace"):
            figures.append(
                measure(
                    "real ganesha.nfsd: enter_grace('0:') = grace + get_grace",
                    runs,
                    lambda: fresh().enter_grace("0:", budget=BUDGET),
                )
            )
        return figures


def report(figures: list[Figure]) -> str:
    lines = [
        f"{'case':<58} {'runs':>4} {'min':>9} {'median':>9} {'max':>9} {'attempts':>8}",
        "-" * 103,
    ]
    for f in figures:
        lines.append(
            f"{f.label:<58} {f.runs:>4} {f.min_ms:7.1f}ms {f.median_ms:7.1f}ms "
            f"{f.max_ms:7.1f}ms {f.attempts:>8}"
        )
    lines.append("")
    lines += [f"{f.label}: {f.outcome[:160]}" for f in figures]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of the quick cases")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of the cases that wait")
    parser.add_argument("--src", type=Path, default=None, help="import the agents from here")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))  # the tests' harnesses
    if args.src is not None:
        sys.path.insert(0, str(args.src.resolve()))
    import pydbus  # noqa: F401  # once, outside every timing

    import ganesha_agents

    print(f"agents from {Path(ganesha_agents.__file__).parent}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="gcb-", dir="/tmp") as made:
        root = Path(made)
        root.chmod(0o755)
        figures = fake_cases(root, args.runs, args.slow_runs)
        figures += notify_cases(root, args.slow_runs, args.src)
        figures += real_cases(root, args.runs)
    print(report(figures))
    if args.json is not None:
        args.json.write_text(json.dumps([f.__dict__ for f in figures], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
