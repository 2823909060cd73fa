"""Whole-process start-up benchmark of agents, run the way Pacemaker runs them.

Pacemaker forks an agent for every operation, on every node, every few
seconds, so what counts is the time from exec to exit.  This runs each case
many times as a separate process, in rounds of one run of every case, and
reports the median and 90th percentile, and the ratios of ocfkit's agents to
three references:

- resource-agents' shell ``Dummy`` (Debian package resource-agents);
- the same state-file agent written on resource-agents' ``ocf.py``
  (``agents/ocfpy_dummy``);
- a bare ``python3 -I -S -c pass``, the floor for any Python agent.

The example agents are ``dummy`` (a state file) and ``daemon`` (a real
``sleep`` daemon started by the agent, monitored through its locked pid
file).  ocfkit's agents run as installed shims (``ocfkit.shims``) in a temporary OCF
root.  The ganesha agents' attribute tool is replaced by a tiny shell script
(an ``attrd_updater`` answering as Pacemaker 2.1.5 does, from
``ganesha_agents.standins``), so the figures are the agents' own cost, not
attrd's.  As root, a real ganesha.nfsd runs on a private system bus (the
tests' harness), whose pid file ganesha_mon watches and to which one
post-stop notification sends a real grace call; ``--stand-in`` (or a machine
without nfs-ganesha) uses a process that only holds the pid file's lock.

Then, as root on a machine with the cluster stack, the same agent actions are
measured inside a node of a real 4-node lab cluster (real attrd, real
ganesha.nfsd; ``realcluster.py``), 20 runs each by default, and reported
next to the stand-in figures; ``--agents-37 DIR`` adds GlusterFS 3.7's shell
agents found in DIR, measured on the same lab right after; ``--no-lab``
skips the lab.  Run it with ``./dev bench`` (``--runs``, ``--lab-runs``,
``--json FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import realcluster

from ganesha_agents.standins import ganesha_pid_holder, write_attrd_updater

HERE = Path(__file__).resolve().parent
SHELL_DUMMY = Path("/usr/lib/ocf/resource.d/heartbeat/Dummy")
OCF_PY = Path("/usr/lib/ocf/lib/heartbeat/ocf.py")
PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class Case:
    label: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    expect: int = 0


@dataclass(frozen=True)
class Figure:
    label: str
    median_ms: float
    p90_ms: float
    runs: int


def measure(cases: Sequence[Case], runs: int, warmup: int = 5) -> list[Figure]:
    """Run every case ``warmup + runs`` times, in rounds: one run of each case per round.

    Interleaved, a change of the machine's load (other work on a shared
    machine) weighs on every case alike, so the ratios between cases hold
    better than when each case runs its whole series at another time.
    """
    samples: dict[str, list[float]] = {case.label: [] for case in cases}
    for index in range(warmup + runs):
        for case in cases:
            started = time.perf_counter()
            done = subprocess.run(
                case.argv, env=dict(case.env), capture_output=True, check=False, timeout=60
            )
            elapsed = time.perf_counter() - started
            if done.returncode != case.expect:
                raise SystemExit(
                    f"{case.label}: exit {done.returncode}, expected {case.expect}\n"
                    f"{done.stderr.decode(errors='replace')}"
                )
            if index >= warmup:
                samples[case.label].append(elapsed * 1000)
    figures = []
    for case in cases:
        taken = sorted(samples[case.label])
        p90 = taken[min(len(taken) - 1, int(len(taken) * 0.9))]
        figures.append(Figure(case.label, statistics.median(taken), p90, runs))
    return figures


def run_once(argv: Sequence[str], env: Mapping[str, str], expect: int = 0) -> None:
    done = subprocess.run(list(argv), env=dict(env), capture_output=True, check=False, timeout=60)
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr.decode()}")


def cases(root: Path, pid_file: Path, bus_address: str | None) -> list[Case]:
    from ocfkit.shims import install

    ocf_root = root / "ocf"
    install("bench", ["dummy", "daemon", "ganesha_mon", "ganesha_grace"], ocf_root=ocf_root)
    shims = ocf_root / "resource.d" / "bench"
    rsctmp = root / "rsctmp"
    rsctmp.mkdir()
    stubs = root / "bin"
    stubs.mkdir()
    write_attrd_updater(stubs)
    base = {
        "PATH": f"{stubs}:/usr/sbin:/usr/bin:/sbin:/bin",
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RA_VERSION_MAJOR": "1",
        "OCF_RA_VERSION_MINOR": "1",
        "OCF_RESOURCE_INSTANCE": "bench",
        "OCF_RESKEY_CRM_meta_timeout": "20000",
        "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
        "HA_RSCTMP": str(rsctmp),
        "HA_LOGFILE": str(root / "agents.log"),
        "HA_debug": "0",
        "OCF_RESKEY_CRM_meta_on_node": "bench",
    }
    monitor = {**base, "OCF_RESKEY_CRM_meta_interval": "10000"}
    ganesha = {**monitor, "OCF_RESKEY_pid_file": str(pid_file)}
    grace = {**base, "OCF_RESKEY_pid_file": str(pid_file)}
    grace_monitor = {**monitor, "OCF_RESKEY_pid_file": str(pid_file)}
    notify = {
        **base,
        "OCF_RESKEY_CRM_meta_notify_type": "post",
        "OCF_RESKEY_CRM_meta_notify_operation": "start",
        "OCF_RESKEY_CRM_meta_notify_start_uname": "node2",
        "OCF_RESKEY_CRM_meta_notify_start_resource": "nfs-grace:1",
        "OCF_RESKEY_CRM_meta_notify_stop_uname": " ",
        "OCF_RESKEY_CRM_meta_notify_stop_resource": " ",
    }
    daemon = {
        **base,
        "OCF_RESKEY_binfile": "/bin/sleep",
        "OCF_RESKEY_cmdline_options": "3600",
        "OCF_RESKEY_pidfile": str(root / "daemon.pid"),
        "OCF_RESKEY_start_check": "0",
    }
    daemon_monitor = {**daemon, "OCF_RESKEY_CRM_meta_interval": "10000"}
    ocfpy = str(HERE / "agents" / "ocfpy_dummy")
    for agent, env in (
        (str(SHELL_DUMMY), base),
        (ocfpy, base),
        (str(shims / "dummy"), base),
        (str(shims / "daemon"), daemon),
    ):
        run_once([agent, "start"], env)
    run_once([str(shims / "ganesha_mon"), "start"], ganesha)
    run_once([str(shims / "ganesha_grace"), "start"], grace)
    return [
        Case("python3 -I -S -c pass", (PYTHON, "-I", "-S", "-c", "pass"), base),
        Case("shell Dummy monitor", (str(SHELL_DUMMY), "monitor"), monitor),
        Case("ocf.py agent monitor", (ocfpy, "monitor"), monitor),
        Case("ocfkit dummy monitor", (str(shims / "dummy"), "monitor"), monitor),
        Case("shell Dummy meta-data", (str(SHELL_DUMMY), "meta-data"), base),
        Case("ocf.py agent meta-data", (ocfpy, "meta-data"), base),
        Case("ocfkit dummy meta-data", (str(shims / "dummy"), "meta-data"), base),
        Case("ocfkit daemon monitor", (str(shims / "daemon"), "monitor"), daemon_monitor),
        Case("ocfkit daemon meta-data", (str(shims / "daemon"), "meta-data"), base),
        Case("ganesha_mon meta-data", (str(shims / "ganesha_mon"), "meta-data"), base),
        Case("ganesha_mon monitor (healthy)", (str(shims / "ganesha_mon"), "monitor"), ganesha),
        Case("ganesha_grace meta-data", (str(shims / "ganesha_grace"), "meta-data"), base),
        Case(
            "ganesha_grace monitor (healthy)",
            (str(shims / "ganesha_grace"), "monitor"),
            grace_monitor,
        ),
        Case("ganesha_grace notify (post-start)", (str(shims / "ganesha_grace"), "notify"), notify),
        *grace_call_case(shims, notify, bus_address),
        Case("ganesha_grace start", (str(shims / "ganesha_grace"), "start"), grace),
    ]


def stop_all(root: Path, pid_file: Path) -> None:
    """Stop what start launched (ganesha_mon's watcher) before the stand-ins go."""
    shims = root / "ocf" / "resource.d" / "bench"
    env = {
        "PATH": f"{root / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
        "OCF_RESOURCE_INSTANCE": "bench",
        "HA_RSCTMP": str(root / "rsctmp"),
        "HA_LOGFILE": str(root / "agents.log"),
        "OCF_RESKEY_pid_file": str(pid_file),
    }
    run_once([str(shims / "ganesha_mon"), "stop"], env)


def grace_call_case(shims: Path, notify: Mapping[str, str], bus_address: str | None) -> list[Case]:
    """A post-stop notification: one real grace call to a real ganesha.nfsd over D-Bus."""
    if bus_address is None:
        return []
    env = {
        **notify,
        "DBUS_SYSTEM_BUS_ADDRESS": bus_address,
        "OCF_RESKEY_CRM_meta_notify_operation": "stop",
        "OCF_RESKEY_CRM_meta_notify_stop_uname": "node2",
        "OCF_RESKEY_CRM_meta_notify_stop_resource": "nfs-grace:1",
        "OCF_RESKEY_CRM_meta_notify_start_uname": " ",
        "OCF_RESKEY_CRM_meta_notify_start_resource": " ",
    }
    label = "ganesha_grace notify (post-stop, one grace call)"
    return [Case(label, (str(shims / "ganesha_grace"), "notify"), env)]


@contextmanager
def ganesha_world(root: Path, real: bool) -> Iterator[tuple[Path, str | None]]:
    """(pid file, bus address): a real ganesha.nfsd on a private bus, or the stand-in."""
    if real:
        # The tests' harness: its own mount and network namespaces, its own bus.
        sys.path.insert(0, str(HERE.parent))
        from tests.real.ganesha_node import GaneshaNode, missing_programs

        if os.geteuid() == 0 and not missing_programs():
            node = GaneshaNode(root / "ganesha")
            node.start()
            try:
                yield node.pid_file, node.bus_address
            finally:
                node.stop()
            return
        print("no real ganesha.nfsd here (needs root and nfs-ganesha): stand-in", file=sys.stderr)
    with ganesha_pid_holder(root / "ganesha.pid"):
        yield root / "ganesha.pid", None


def stop_daemon(root: Path) -> None:
    """Stop the example daemon the benchmark started (its pid file says which)."""
    from ocfkit.clock import SystemClock
    from ocfkit.deadline import Deadline
    from ocfkit.process import stop_pid_file

    stop_pid_file(str(root / "daemon.pid"), deadline=Deadline(SystemClock(), 20), names=["sleep"])


def report(figures: list[Figure]) -> str:
    by = {f.label: f for f in figures}
    lines = [f"{'case':<50} {'median':>9} {'p90':>9}", "-" * 70]
    lines += [f"{f.label:<50} {f.median_ms:8.1f}ms {f.p90_ms:8.1f}ms" for f in figures]
    lines.append("")
    for agent in ("dummy", "daemon"):
        for what in ("monitor", "meta-data"):
            ours = by[f"ocfkit {agent} {what}"].median_ms
            lines.append(
                f"ocfkit {agent} {what}: "
                f"{ours / by[f'shell Dummy {what}'].median_ms:.2f}x shell Dummy, "
                f"{ours / by[f'ocf.py agent {what}'].median_ms:.2f}x the ocf.py agent, "
                f"{ours / by['python3 -I -S -c pass'].median_ms:.2f}x bare python3 -I -S"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--stand-in",
        action="store_true",
        help="no real ganesha.nfsd: a stand-in holds the pid file, no grace call is measured",
    )
    parser.add_argument(
        "--no-lab", action="store_true", help="skip the measurement on a real lab cluster"
    )
    parser.add_argument("--lab-runs", type=int, default=20, help="runs of each case in the lab")
    parser.add_argument(
        "--agents-37",
        type=Path,
        default=None,
        metavar="DIR",
        help="also measure the GlusterFS 3.7 ganesha_mon and ganesha_grace found in DIR",
    )
    args = parser.parse_args(argv)
    if args.agents_37 is not None:
        args.agents_37 = args.agents_37.resolve()
        if args.no_lab:
            parser.error("--agents-37 needs the lab (drop --no-lab)")
    for required in (SHELL_DUMMY, OCF_PY):
        if not required.exists():
            print(f"{required} is missing: install Debian's resource-agents", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="ocfkit-bench-") as made:
        root = Path(made)
        root.chmod(0o755)
        with ganesha_world(root, not args.stand_in) as (pid_file, bus_address):
            try:
                figures = measure(cases(root, pid_file, bus_address), args.runs)
            finally:
                try:
                    stop_daemon(root)
                finally:
                    stop_all(root, pid_file)
    print(report(figures))
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    real = None if args.no_lab else measure_lab(args.lab_runs, args.agents_37)
    if real is not None:
        print()
        print(realcluster.report(real, {f.label: f.median_ms for f in figures}))
    if args.json is not None:
        document: dict[str, object] = {"stand-in": [f.__dict__ for f in figures]}
        if real is not None:
            document["real cluster"] = real.as_json()
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


def measure_lab(runs: int, agents_37: Path | None) -> realcluster.RealFigures | None:
    """The real-cluster figures, or None (with the reason) where no lab can run."""
    from ocfkit.lab import LabError
    from ocfkit.lab.progress import Progress

    if os.geteuid() != 0:
        print("no lab measurement: the lab needs root", file=sys.stderr)
        return None
    workdir = Path(tempfile.mkdtemp(prefix="ocfkit-bench-lab-", dir="/var/tmp"))
    workdir.chmod(0o755)
    try:
        return realcluster.measure(workdir, runs=runs, agents_37=agents_37, progress=Progress())
    except LabError as error:
        notes = "\n".join(getattr(error, "__notes__", []))
        print(f"the lab measurement failed: {error}\n{notes}", file=sys.stderr)
        raise SystemExit(1) from error
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
