"""The agents' cost inside a node of a real cluster: real attrd, real ganesha.nfsd, real bus.

The stand-ins of ``startup.py`` measure the agents' own cost; on a real node
every ``attrd_updater`` talks to a real attrd (11-24 ms each) and a grace
call goes to a real ganesha.nfsd.  This brings up a 4-node lab
(:class:`ocfkit.lab.Lab`) with ganesha.nfsd on every node and the generated
NFS-Ganesha HA configuration (``ganesha_agents.config``, GlusterFS 3.7's
layout: nfs-mon and nfs-grace clones, one VIP per node), waits until the
cluster is healthy (every clone instance started, every VIP at home, both
attributes 1 everywhere, the DC idle), then runs, inside node1, each case as
a whole process the way Pacemaker's executor does (the executor's
environment, stdout and stderr captured), timing each run.

The measured instances are the bench's own (``bench-mon``, ``bench-grace``)
with their own attribute names (``bench-ganesha-active``,
``bench-grace-active``), so the cluster's resources are neither disturbed
nor in the way; the cost is the same, since it is the same attrd and the
same daemon.  With ``agents_37``, a directory holding GlusterFS 3.7's
``ganesha_mon`` and ``ganesha_grace`` shell agents (they source
ocf-shellfuncs from Debian's resource-agents), the same cases run with them,
on the same lab, right after.  3.7's ganesha_mon reads
``/var/run/ganesha.pid``; the lab's ganesha writes ``/run/ganesha/ganesha.pid``,
so node1's private /run gets a link for the duration (as 3.7's systemd
layout had it), and the permanent attribute 3.7 writes is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganesha_agents.config import ClusterSpec, Layout, NodeAddress, cib, plan
from ocfkit.lab import Lab, LabError
from ocfkit.lab.commands import DAEMON_ENV
from ocfkit.lab.progress import Progress
from ocfkit.lab.recorder import attribute_probe

NODES = 4
NODE = "node1"
PEER = "node2"
PROVIDER = "ganesha"
VIP_BASE = 200
#: The bench's takeover instance names an address no resource uses.
TAKEOVER_IP = "192.0.2.77"
META = "OCF_RESKEY_CRM_meta_"
#: What the scenarios' lab gives Pacemaker (and so every agent it runs).
PACEMAKER_ENV = {
    "HA_LOGFILE": "/var/log/pacemaker/pacemaker.log",
    "HA_DATEFMT": "%F %T.%N ",
    "TZ": "UTC",
}
#: What an agent inherits from the lab's pacemaker-execd besides the OCF variables:
#: the daemons' environment, and the options Pacemaker exports as PCMK_ and HA_.
EXECD_ENV = {
    **DAEMON_ENV,
    **PACEMAKER_ENV,
    "PCMK_logfacility": "none",
    "HA_logfacility": "none",
    "PCMK_logfile": "/var/log/pacemaker/pacemaker.log",
    "HA_logfile": "/var/log/pacemaker/pacemaker.log",
    "PCMK_service": "pacemaker-execd",
    "HA_debug": "0",
}
GANESHA_ACTIVE = "bench-ganesha-active"
GRACE_ACTIVE = "bench-grace-active"
FLOOR_PROVIDER = "bench"
PYTHON = "/usr/bin/python3"
SHELL_PID_FILE = "/run/ganesha.pid"
LAB_PID_FILE = "/run/ganesha/ganesha.pid"

# Runs inside the node: each case, warm-up runs first, every run a whole process.
TIMER = """
import json, subprocess, sys, time
case = json.loads(sys.argv[1])
samples = []
for index in range(case["warmup"] + case["runs"]):
    began = time.perf_counter()
    done = subprocess.run(case["argv"], env=case["env"], capture_output=True, timeout=120)
    elapsed = (time.perf_counter() - began) * 1000
    if done.returncode != case["expect"]:
        print(json.dumps({"error": f"exit {done.returncode}: {done.stderr.decode()[-2000:]}"}))
        raise SystemExit(0)
    if index >= case["warmup"]:
        samples.append(elapsed)
print(json.dumps({"samples": samples}))
"""


@dataclass(frozen=True)
class Spread:
    """min / median / max of one case's runs, in milliseconds."""

    runs: int
    min_ms: float
    median_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Spread:
        return cls(len(samples), min(samples), statistics.median(samples), max(samples))

    def __str__(self) -> str:
        return f"{self.min_ms:.0f} / {self.median_ms:.0f} / {self.max_ms:.0f}"


@dataclass(frozen=True)
class Case:
    label: str
    action: str
    agent: str  # ganesha_mon, ganesha_grace or ganesha_takeover
    env: Mapping[str, str]


@dataclass
class RealFigures:
    """What one lab run measured: ours and (when given) 3.7's, per case."""

    runs: int
    ours: dict[str, Spread] = field(default_factory=dict)
    shell_37: dict[str, Spread] = field(default_factory=dict)
    floor: dict[str, Spread] = field(default_factory=dict)
    """Bare python and ocfkit's example agent in the same node at the same time."""
    seconds_to_healthy: float = 0.0
    when: str = ""
    load: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average as the measurement began and ended."""

    def as_json(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "when": self.when,
            "seconds_to_healthy": round(self.seconds_to_healthy, 1),
            "load_average": list(self.load),
            "ocfkit": {k: v.__dict__ for k, v in self.ours.items()},
            "glusterfs_3.7": {k: v.__dict__ for k, v in self.shell_37.items()},
            "floor": {k: v.__dict__ for k, v in self.floor.items()},
        }


def cluster_spec(lab: Lab) -> ClusterSpec:
    """One VIP per node in the lab's subnet, in the layout these two agents serve (3.7's).

    The takeover layout adds a ganesha_takeover clone per address and drops
    nfs-grace; ganesha_mon runs there alike.
    """
    return ClusterSpec(
        layout=Layout.GLUSTER_37,
        nodes=tuple(
            NodeAddress(node, f"{lab.layout.subnet}.{VIP_BASE + lab.layout.index(node)}")
            for node in lab.nodes
        ),
        cidr_netmask=24,
        nic="eth0",
        properties=True,
        stonith_enabled=True,
    )


def problems(lab: Lab, spec: ClusterSpec) -> list[str]:
    """What keeps the lab from the healthy state the figures are measured in."""
    status = lab.status(NODE)
    found = []
    if sorted(status.online()) != list(lab.nodes):
        found.append(f"online: {status.online()}")
    for clone in ("nfs-mon-clone", "nfs-grace-clone"):
        if status.started_on(clone) != list(lab.nodes):
            found.append(f"{clone} started on {status.started_on(clone)}")
    for node in spec.nodes:
        vip = spec.vip_id(node)
        if status.started_on(vip) != [node.name]:
            found.append(f"{vip} on {status.started_on(vip)}")
    found += [f"failed: {r.id}" for r in status.failed()]
    for name in ("grace-active", "ganesha-active"):
        values = attribute_probe(lab, name)()
        found += [f"{name}[{n}]={values.get(n)!r}" for n in lab.nodes if values.get(n) != "1"]
    if not found and not lab.idle(NODE):
        found.append("the DC is not idle")
    return found


def bring_up(workdir: Path, progress: Progress) -> tuple[Lab, float]:
    """The lab, up and healthy with the generated configuration; and how long that took."""
    began = time.monotonic()
    lab = Lab(
        workdir,
        NODES,
        ganesha=True,
        grace_period=10,
        lease_lifetime=5,
        pacemaker_env=PACEMAKER_ENV,
        progress=progress,
    )
    try:
        lab.up()
        lab.install_agents(PROVIDER, ["ganesha_mon", "ganesha_grace", "ganesha_takeover"])
        lab.install_agents(FLOOR_PROVIDER, ["dummy"])
        spec = cluster_spec(lab)
        lab.load_cib(cib.render(plan(spec)), merge=True)
        last: list[str] = []

        def healthy() -> bool:
            nonlocal last
            last = problems(lab, spec)
            return not last

        try:
            lab.wait_for(healthy, 240, "the healthy cluster", interval=1.0)
        except LabError as error:
            error.add_note("still wrong: " + "; ".join(last))
            raise
    except BaseException:
        lab.down(graceful=False)
        raise
    return lab, time.monotonic() - began


def environments(rsc_type: str, instance: str) -> dict[str, dict[str, str]]:
    """The environments Pacemaker's executor gives each action of the bench's instances."""
    base = {
        **EXECD_ENV,
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RA_VERSION_MAJOR": "1",
        "OCF_RA_VERSION_MINOR": "1",
        "OCF_RESOURCE_INSTANCE": instance,
        "OCF_RESOURCE_TYPE": rsc_type,
        "OCF_RESOURCE_PROVIDER": PROVIDER,
        "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
        "OCF_RESKEY_crm_feature_set": "3.16.2",
        "OCF_RESKEY_CRM_meta_on_node": NODE,
        "OCF_RESKEY_CRM_meta_on_node_uuid": "1",
        "OCF_RESKEY_grace_active": GRACE_ACTIVE,
    }
    if rsc_type == "ganesha_mon":
        base["OCF_RESKEY_ganesha_active"] = GANESHA_ACTIVE
    stop = {
        f"{META}notify_type": "post",
        f"{META}notify_operation": "stop",
        f"{META}notify_key_type": "post",
        f"{META}notify_key_operation": "stopped",
        f"{META}notify_stop_uname": PEER,
        f"{META}notify_stop_resource": "nfs-grace:1",
        f"{META}notify_start_uname": " ",
        f"{META}notify_start_resource": " ",
    }
    interval = "10000" if rsc_type == "ganesha_mon" else "5000"
    return {
        "start": {**base, f"{META}timeout": "40000"},
        "stop": {**base, f"{META}timeout": "40000"},
        "monitor": {**base, f"{META}interval": interval, f"{META}timeout": "10000"},
        "notify": {**base, **stop, f"{META}timeout": "10000"},
    }


MON = environments("ganesha_mon", "bench-mon")
GRACE = environments("ganesha_grace", "bench-grace")
CASES = (
    Case("ganesha_mon monitor (healthy)", "monitor", "ganesha_mon", MON["monitor"]),
    Case("ganesha_grace monitor (healthy)", "monitor", "ganesha_grace", GRACE["monitor"]),
    Case("ganesha_grace notify (post-stop, one grace call)", "notify", "ganesha_grace",
         GRACE["notify"]),
    Case("ganesha_grace start", "start", "ganesha_grace", GRACE["start"]),
)  # fmt: skip


def takeover_environments() -> dict[str, dict[str, str]]:
    """The bench's ganesha_takeover instance on node1, for an address node2 is taking."""
    base = {
        k: v
        for k, v in environments("ganesha_takeover", "bench-takeover")["start"].items()
        if k not in ("OCF_RESKEY_grace_active", f"{META}timeout")
    }
    base["OCF_RESKEY_ip"] = TAKEOVER_IP
    notify = {
        **base,
        f"{META}timeout": "20000",
        f"{META}notify_key_operation": "promote",
        f"{META}notify_operation": "promote",
        f"{META}notify_promote_uname": PEER,
        f"{META}notify_promote_resource": "bench-takeover:1",
        f"{META}notify_demote_uname": " ",
        f"{META}notify_demote_resource": " ",
    }
    return {
        "start": {**base, f"{META}timeout": "20000"},
        "stop": {**base, f"{META}timeout": "20000"},
        "monitor": {**base, f"{META}interval": "31000", f"{META}timeout": "10000"},
        "pre-promote": {
            **notify,
            f"{META}notify_type": "pre",
            f"{META}notify_key_type": "pre",
        },
        "post-promote": {
            **notify,
            f"{META}notify_type": "post",
            f"{META}notify_key_type": "post",
        },
    }


TAKEOVER = takeover_environments()
#: The takeover layout's own agent: no GlusterFS 3.7 counterpart.
TAKEOVER_CASES = (
    Case("ganesha_takeover monitor (unpromoted)", "monitor", "ganesha_takeover",
         TAKEOVER["monitor"]),
    Case("ganesha_takeover notify (pre-promote: 0: confirmed)", "notify", "ganesha_takeover",
         TAKEOVER["pre-promote"]),
    Case("ganesha_takeover notify (post-promote: ignored)", "notify", "ganesha_takeover",
         TAKEOVER["post-promote"]),
)  # fmt: skip


def run_in_node(lab: Lab, argv: Sequence[str], env: Mapping[str, str], timeout: float = 60) -> None:
    done = lab.exec(NODE, list(argv), timeout=timeout, env=dict(env))
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)} in {NODE} exited {done.returncode}: {done.stderr}")


def time_case(
    lab: Lab, argv: Sequence[str], env: Mapping[str, str], runs: int, warmup: int
) -> Spread:
    case = {"argv": list(argv), "env": dict(env), "expect": 0, "runs": runs, "warmup": warmup}
    done = lab.exec(
        NODE,
        [sys.executable, "-I", "-S", "-c", TIMER, json.dumps(case)],
        timeout=(runs + warmup) * 130,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise LabError(f"the timer in {NODE} failed ({done.returncode}): {done.stderr[-2000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in answer:
        raise LabError(f"{' '.join(argv)}: {answer['error']}")
    return Spread.of(answer["samples"])


def measure_ours(lab: Lab, runs: int, warmup: int, progress: Progress) -> dict[str, Spread]:
    shims = f"/usr/lib/ocf/resource.d/{PROVIDER}"
    run_in_node(lab, [f"{shims}/ganesha_mon", "start"], MON["start"])
    run_in_node(lab, [f"{shims}/ganesha_grace", "start"], GRACE["start"])
    try:
        figures = {}
        for case in CASES:
            figures[case.label] = time_case(
                lab, [f"{shims}/{case.agent}", case.action], case.env, runs, warmup
            )
            progress.step(f"ocfkit {case.label}: {figures[case.label]} ms")
        run_in_node(lab, [f"{shims}/ganesha_takeover", "start"], TAKEOVER["start"])
        for case in TAKEOVER_CASES:
            figures[case.label] = time_case(
                lab, [f"{shims}/{case.agent}", case.action], case.env, runs, warmup
            )
            progress.step(f"ocfkit {case.label}: {figures[case.label]} ms")
        return figures
    finally:
        run_in_node(lab, [f"{shims}/ganesha_takeover", "stop"], TAKEOVER["stop"])
        run_in_node(lab, [f"{shims}/ganesha_grace", "stop"], GRACE["stop"])
        run_in_node(lab, [f"{shims}/ganesha_mon", "stop"], MON["stop"])
        forget_attributes(lab)


def measure_floor(lab: Lab, runs: int, warmup: int, progress: Progress) -> dict[str, Spread]:
    """What any Python agent costs in this node right now: the interpreter, ocfkit's example."""
    dummy = f"/usr/lib/ocf/resource.d/{FLOOR_PROVIDER}/dummy"
    env = {
        **{
            k: v
            for k, v in environments("dummy", "bench-dummy")["monitor"].items()
            if k != "OCF_RESKEY_grace_active"
        },
        "OCF_RESOURCE_PROVIDER": FLOOR_PROVIDER,
    }
    run_in_node(lab, [dummy, "start"], env)
    try:
        figures = {
            "python3 -I -S -c pass": time_case(
                lab, [PYTHON, "-I", "-S", "-c", "pass"], env, runs, warmup
            ),
            "ocfkit dummy monitor": time_case(lab, [dummy, "monitor"], env, runs, warmup),
        }
    finally:
        run_in_node(lab, [dummy, "stop"], env)
    for label, spread in figures.items():
        progress.step(f"{label}: {spread} ms")
    return figures


def measure_37(
    lab: Lab, directory: Path, runs: int, warmup: int, progress: Progress
) -> dict[str, Spread]:
    agents = {name: directory / name for name in ("ganesha_mon", "ganesha_grace")}
    for path in agents.values():
        if not path.is_file():
            raise LabError(f"{path}: no such agent (--agents-37 names a directory holding both)")
    linked = lab.exec(NODE, ["test", "-e", SHELL_PID_FILE], timeout=10).returncode != 0
    if linked:
        run_in_node(lab, ["ln", "-s", LAB_PID_FILE, SHELL_PID_FILE], EXECD_ENV)
    try:
        run_in_node(lab, [str(agents["ganesha_mon"]), "start"], MON["start"])
        figures = {}
        for case in CASES:
            argv = [str(agents[case.agent]), case.action]
            figures[case.label] = time_case(lab, argv, case.env, runs, warmup)
            progress.step(f"GlusterFS 3.7 {case.label}: {figures[case.label]} ms")
        return figures
    finally:
        if linked:
            run_in_node(lab, ["rm", "-f", SHELL_PID_FILE], EXECD_ENV)
        # 3.7's ganesha_mon keeps a permanent copy of grace-active in the CIB.
        lab.exec(
            NODE,
            ["crm_attribute", "--node", NODE, "--name", GRACE_ACTIVE, "--delete"],
            timeout=30,
            env=EXECD_ENV,
        )
        forget_attributes(lab)


def forget_attributes(lab: Lab) -> None:
    for name in (GANESHA_ACTIVE, GRACE_ACTIVE):
        lab.exec(NODE, ["attrd_updater", "-D", "-n", name], timeout=30, env=EXECD_ENV)


def measure(
    workdir: Path,
    *,
    runs: int = 20,
    warmup: int = 3,
    agents_37: Path | None = None,
    progress: Progress | None = None,
) -> RealFigures:
    """Bring a lab up in ``workdir``, measure, take it down."""
    progress = progress or Progress()
    lab, seconds = bring_up(workdir, progress)
    figures = RealFigures(runs, seconds_to_healthy=seconds, when=time.strftime("%Y-%m-%d"))
    began = os.getloadavg()[0]
    try:
        figures.floor = measure_floor(lab, runs, warmup, progress)
        figures.ours = measure_ours(lab, runs, warmup, progress)
        if agents_37 is not None:
            figures.shell_37 = measure_37(lab, agents_37, runs, warmup, progress)
    finally:
        figures.load = (round(began, 2), round(os.getloadavg()[0], 2))
        lab.down(graceful=False)
    return figures


def report(figures: RealFigures, stand_in: Mapping[str, float]) -> str:
    """The real-cluster table, with the stand-in medians of the same cases beside it."""
    head = (
        f"real cluster: inside {NODE} of a {NODES}-node lab (real attrd, real ganesha.nfsd), "
        f"{figures.runs} runs each, min / median / max ms; "
        f"load average {figures.load[0]:.1f} to {figures.load[1]:.1f} on {os.cpu_count()} CPUs"
    )
    width = max(len(case.label) for case in CASES + TAKEOVER_CASES) + 2
    lines = [head, f"{'case':<{width}} {'ocfkit':>16} {'GlusterFS 3.7':>18} {'stand-in':>9}"]
    lines.append("-" * len(lines[-1]))
    for case in CASES + TAKEOVER_CASES:
        ours = figures.ours.get(case.label)
        theirs = figures.shell_37.get(case.label)
        alone = stand_in.get(case.label)
        lines.append(
            f"{case.label:<{width}} {ours or '-'!s:>16} {theirs or '-'!s:>18} "
            + (f"{alone:8.1f}" if alone is not None else f"{'-':>8}")
        )
    for label, spread in figures.floor.items():
        lines.append(f"{'(floor) ' + label:<{width}} {spread!s:>16}")
    return "\n".join(lines)
