"""The operator's commands run inside lab nodes, and what the tests look at while they run.

``ganesha-agents`` runs inside a node as an operator runs it there: the
node's own crm_mon, cibadmin and system bus.  Two background samplers watch
a change as it happens: :class:`Reader` reads a file through every virtual
IP, over and over, as an NFS client would; :class:`RuleWatch` reads the CIB
and checks that no address is ever without its rules.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

from lxml import etree

from ocfkit.lab import LabError
from tests.scenarios.ha import HaCluster

#: Our node attributes (ganesha_mon's), by their default names.
ATTRIBUTES = ("ganesha-active", "grace-active", "ganesha-grace")
VIP_AGENT = "IPaddr2"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str
    seconds: float


def ganesha_agents(ha: HaCluster, node: str, *args: str, timeout: float = 360.0) -> Ran:
    """``ganesha-agents ARGS`` inside ``node``; its output must never be a traceback."""
    argv = [sys.executable, "-m", "ganesha_agents", *args]
    began = time.monotonic()
    done = ha.lab.exec(node, argv, timeout=timeout)
    ran = Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - began)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return ran


def status(ha: HaCluster, node: str, *options: str) -> tuple[int, str]:
    """``ganesha-agents status`` inside ``node``: its exit code and output."""
    ran = ganesha_agents(
        ha, node, "status", "--no-colour", "--pid-file", ha.stack.ganesha_pid_file, *options,
        timeout=60,
    )  # fmt: skip
    return ran.code, ran.out


def document(ha: HaCluster, node: str) -> tuple[int, dict[str, Any]]:
    """``status --json`` inside ``node``: exit code and the parsed document."""
    code, out = status(ha, node, "--json")
    parsed = json.loads(out)
    assert isinstance(parsed, dict), out
    return code, parsed


def verdict_line(text: str) -> str:
    """The ``Verdict: ...`` line of the text screen."""
    lines = [line for line in text.splitlines() if line.startswith("Verdict: ")]
    assert len(lines) == 1, text
    return lines[0]


def wait_verdict(
    ha: HaCluster, node: str, state: str, timeout: float, what: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll ``status --json`` on ``node`` until its verdict is ``state``; (that document, all)."""
    seen: list[dict[str, Any]] = []
    began = time.monotonic()

    def reached() -> dict[str, Any] | None:
        _, now = document(ha, node)
        now["_after"] = round(time.monotonic() - began, 2)
        seen.append(now)
        return now if now["verdict"]["state"] == state else None

    try:
        found = ha.lab.wait_for(reached, timeout, what, interval=0.5, report=False)
    except LabError as error:
        trail = [(s["_after"], s["verdict"]["state"], s["verdict"]["problems"]) for s in seen[-5:]]
        error.add_note(f"last verdicts: {trail}")
        raise
    return found, seen


def cib(ha: HaCluster, node: str) -> etree._Element:
    """The whole CIB as ``node``'s cibadmin gives it."""
    done = ha.lab.exec(node, ["cibadmin", "--query"], timeout=30, check=True)
    return etree.fromstring(done.stdout.encode())


def ours_left(root: etree._Element, vip_ids: Iterable[str] = ()) -> list[str]:
    """Every resource, constraint and node attribute of ours the CIB still holds."""
    left = [
        f"resource {r.get('id')}"
        for r in root.iterfind("configuration/resources/*")
        if r.get("id") != "lab-fence"
    ]
    left += [f"constraint {c.get('id')}" for c in root.iterfind("configuration/constraints/*")]
    for name in ATTRIBUTES:
        left += [
            f"attribute {name} of node {p.getparent().getparent().get('id')}"  # type: ignore[union-attr]
            for p in root.iter("nvpair")
            if p.get("name") == name
        ]
    text = etree.tostring(root, encoding="unicode")
    left += [f"{vip} named in the CIB" for vip in vip_ids if vip in text]
    return left


def rule_problems(configuration: etree._Element) -> list[str]:
    """Every address without its rules: a location rule, its takeover clone, order, colocation."""
    resources = {e.get("id"): e for e in configuration.iter("primitive", "clone")}
    constraints = list(configuration.iterfind("constraints/*"))
    problems = []
    for vip in (p for p in configuration.iter("primitive") if p.get("type") == VIP_AGENT):
        name = vip.get("id")
        located = [c for c in constraints if c.tag == "rsc_location" and c.get("rsc") == name]
        with_clone = [
            c.get("with-rsc")
            for c in constraints
            if c.tag == "rsc_colocation" and c.get("rsc") == name
        ]
        ordered = [c for c in constraints if c.tag == "rsc_order" and c.get("then") == name]
        if not located:
            problems.append(f"{name} has no location rule")
        if not with_clone or any(clone not in resources for clone in with_clone):
            problems.append(f"{name} is not colocated with an existing takeover clone")
        if not ordered:
            problems.append(f"{name} starts in no order")
    return problems


class _Sampler:
    """A background loop, stopped and joined by ``with``."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except (LabError, OSError, etree.XMLSyntaxError) as error:
                self.errors.append(f"{time.time():.2f} {error}")
            self._stop.wait(self.pause)

    pause = 0.2

    def sample(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Read:
    time: float
    vip: str
    ok: bool
    said: str


@dataclass
class Gap:
    vip: str
    start: float
    end: float | None
    failures: int

    @property
    def seconds(self) -> float:
        return (self.end if self.end is not None else float("inf")) - self.start


class Reader(_Sampler):
    """Reads ``who`` through every address in ``vips`` from ``client``, round after round."""

    def __init__(self, ha: HaCluster, client: str, vips: Iterable[str]) -> None:
        super().__init__()
        self.ha = ha
        self.client = client
        self.vips = list(vips)
        self.reads: list[Read] = []
        self._lock = threading.Lock()

    def read_also(self, vip: str) -> None:
        with self._lock:
            self.vips.append(vip)

    def read_no_more(self, vip: str) -> None:
        with self._lock:
            self.vips.remove(vip)

    def sample(self) -> None:
        with self._lock:
            vips = list(self.vips)
        for vip in vips:
            done = self.ha.nfs_read(self.client, vip)
            said = done.stdout.strip() if done.returncode == 0 else done.stderr.strip()[-200:]
            self.reads.append(Read(time.time(), vip, done.returncode == 0, said))

    def gaps(self, vip: str) -> list[Gap]:
        """Each run of failed reads through ``vip``, from its first failure to the next success."""
        found: list[Gap] = []
        current: Gap | None = None
        for read in (r for r in self.reads if r.vip == vip):
            if not read.ok:
                if current is None:
                    current = Gap(vip, read.time, None, 0)
                    found.append(current)
                current.failures += 1
            elif current is not None:
                current.end = read.time
                current = None
        return found

    def served(self, vip: str, since: float = 0.0) -> list[str]:
        """Who answered through ``vip`` (the file names its server), in order, without repeats."""
        order: list[str] = []
        for read in self.reads:
            wanted = read.vip == vip and read.ok and read.time >= since
            if wanted and (not order or order[-1] != read.said):
                order.append(read.said)
        return order


class RuleWatch(_Sampler):
    """Reads the CIB's configuration from ``node`` and keeps every address found without rules."""

    def __init__(self, ha: HaCluster, node: str) -> None:
        super().__init__()
        self.ha = ha
        self.node = node
        self.samples = 0
        self.vips_seen: set[str] = set()
        self.violations: list[str] = []

    pause = 0.3

    def sample(self) -> None:
        argv = ["cibadmin", "--query", "--scope", "configuration"]
        done = self.ha.lab.exec(self.node, argv, timeout=30, check=True)
        configuration = etree.fromstring(done.stdout.encode())
        self.samples += 1
        self.vips_seen |= {
            str(p.get("id")) for p in configuration.iter("primitive") if p.get("type") == VIP_AGENT
        }
        self.violations += [f"{time.time():.2f} {p}" for p in rule_problems(configuration)]
