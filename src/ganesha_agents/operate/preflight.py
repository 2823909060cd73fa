"""What setup checks on the node it runs on before the cluster is changed.

- ``agents``: each agent the layout uses is installed as Pacemaker runs it
  (``<OCF_ROOT>/resource.d/<provider>/<agent>``), an ocfkit shim made by
  this very version of the package, whose embedded meta-data is still what
  the agent renders, and which answers ``meta-data`` with the agent's
  document.  A resource whose agent is missing or older fails its first
  start on every node at once.
- ``ganesha``: ganesha.nfsd runs here (its pid file's lock) and answers
  ``get_grace`` on the system bus: without it no address can start here.
- ``volume``: with ``ha_vol_mnt``, the shared state layout is in place
  (``ganesha-agents state-volume --check``): a takeover reads the previous
  holder's records there.

Each check returns the problems it found, each saying what to do; the
conflicts in the CIB itself are :mod:`.cibedit`'s.  Other nodes are not
looked at: run ``ocfkit list`` there (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree

from ganesha_agents.config import ClusterSpec, Layout
from ocfkit import __version__
from ocfkit.deadline import Deadline
from ocfkit.errors import OCFError
from ocfkit.runner import CommandRunner

CHECKS = ("agents", "ganesha", "volume")
METADATA_TIMEOUT = 10.0
_MADE_BY = "made by ocfkit "


def agents_for(spec: ClusterSpec) -> tuple[str, ...]:
    if spec.layout is Layout.GLUSTER_37:
        return ("ganesha_mon", "ganesha_grace")
    return ("ganesha_mon", "ganesha_takeover")


def shim_version(path: Path) -> str | None:
    """The ocfkit version a shim was written by, from its marker line."""
    from ocfkit.shims import marker_line

    marker = marker_line(path)
    if marker is None:
        return None
    _, found, rest = marker.partition(_MADE_BY)
    if not found:
        return None
    return rest.split(";", 1)[0].strip() or None


def check_agents(spec: ClusterSpec, ocf_root: str, bound: Deadline) -> list[str]:
    from ocfkit.shims import is_shim, shim_state

    found = []
    install = f"ocfkit install --provider {spec.provider} {' '.join(agents_for(spec))}"
    for agent in agents_for(spec):
        path = Path(ocf_root) / "resource.d" / spec.provider / agent
        where = f"ocf:{spec.provider}:{agent} ({path})"
        if not path.is_file():
            found.append(f"{where} is not installed: {install}")
            continue
        if not is_shim(path):
            found.append(f"{where} is not an ocfkit shim: {install} --force replaces it")
            continue
        version = shim_version(path)
        if version != __version__:
            found.append(
                f"{where} was installed by ocfkit {version or '?'}, this is {__version__}: "
                f"{install}"
            )
            continue
        state = shim_state(path)
        if state.state != "current":
            found.append(f"{where} is {state.state}: {state.detail or install}")
            continue
        problem = _metadata_problem(path, agent, bound)
        if problem:
            found.append(f"{where}: {problem}")
    return found


def _metadata_problem(path: Path, agent: str, bound: Deadline) -> str | None:
    try:
        done = CommandRunner(bound).run([str(path), "meta-data"], timeout=METADATA_TIMEOUT)
    except OCFError as error:
        return f"meta-data cannot be run: {error}"
    if not done.ok:
        return f"meta-data failed: {done.describe()}"
    try:
        root = etree.fromstring(done.stdout.encode(), etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as error:
        return f"meta-data is not XML: {error}"
    if root.tag != "resource-agent" or root.get("name") != agent:
        return f"meta-data describes {root.get('name')!r}, not {agent}"
    return None


def check_ganesha(bound: Deadline, pid_files: Sequence[str]) -> list[str]:
    from ganesha_agents.status import query

    view = query.local_view("this node", bound, pid_files)
    if not view.alive:
        return [
            f"ganesha.nfsd is not running on this node ({view.alive_detail}): "
            "start it (systemctl start nfs-ganesha) and run this again"
        ]
    if view.in_grace is None:
        return [
            f"ganesha.nfsd does not answer on the D-Bus system bus ({view.grace_detail}): "
            "is its D-Bus policy installed and the system bus running?"
        ]
    return []


def check_volume(spec: ClusterSpec) -> list[str]:
    from ganesha_agents import state_volume as layout

    if spec.ha_vol_mnt is None:
        return []
    names = [node.name for node in spec.nodes]
    fix = f"ganesha-agents state-volume --ha-vol-mnt {spec.ha_vol_mnt} " + " ".join(
        f"--node {n}" for n in names
    )
    try:
        report = layout.survey(spec.ha_vol_mnt, names, change=layout.CHECK)
    except layout.VolumeError as error:
        return [f"the state volume cannot be used: {error.reason}"]
    except ValueError as error:
        return [f"the state volume: {error}"]
    if report.ok:
        return []
    return [f"the state layout on {spec.ha_vol_mnt} is not in place: run {fix}"]


def run_checks(
    spec: ClusterSpec,
    bound: Deadline,
    *,
    skip: Sequence[str] = (),
    ocf_root: str = "/usr/lib/ocf",
    pid_files: Sequence[str] = (),
    progress: Callable[[str], None] = lambda _line: None,
) -> list[str]:
    """Every check not skipped; the problems found (empty: go ahead)."""
    from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES

    checks: dict[str, Callable[[], list[str]]] = {
        "agents": lambda: check_agents(spec, ocf_root, bound),
        "ganesha": lambda: check_ganesha(bound, pid_files or DEFAULT_PID_FILES),
        "volume": lambda: check_volume(spec),
    }
    problems = []
    for name, check in checks.items():
        if name in skip:
            progress(f"check {name}: skipped")
            continue
        found = check()
        progress(f"check {name}: " + ("ok" if not found else f"{len(found)} problem(s)"))
        problems += found
    return problems
