"""``ocfkit lab``: a real cluster in namespaces, from the command line.

Each command attaches to the lab through the state file in ``--workdir``
(default ``$OCFKIT_LAB_WORKDIR`` or /var/lib/ocfkit/lab), so ``up`` in one
shell and ``fence node2`` or ``down`` in another work together.  Every
command refuses a working directory anyone but root could change (see
:mod:`ocfkit.lab.workdir`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ocfkit.lab.errors import LabError
from ocfkit.lab.layout import MAX_NODES
from ocfkit.lab.processes import is_alive
from ocfkit.lab.progress import Progress
from ocfkit.lab.workdir import DEFAULT_WORKDIR, UnsafeWorkdir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.lab.lab import Lab

F = TypeVar("F", bound=Callable[..., Any])


def workdir_option(function: F) -> F:
    return click.option(
        "--workdir",
        envvar="OCFKIT_LAB_WORKDIR",
        default=DEFAULT_WORKDIR,
        show_default=True,
        type=click.Path(file_okay=False),
        help="The lab's working directory (state, node directories, logs).",
    )(function)


def _fail(error: LabError) -> click.ClickException:
    notes = "\n".join(getattr(error, "__notes__", []))
    return click.ClickException(f"{error}\n{notes}" if notes else str(error))


def _attach(workdir: str) -> Lab:
    from ocfkit.lab.lab import Lab

    try:
        return Lab.attach(workdir, progress=Progress(sys.stderr))
    except LabError as error:
        raise _fail(error) from error


def _node(lab: Lab, node: str) -> str:
    if node not in lab.nodes:
        raise click.BadParameter(f"no node {node!r} (nodes: {' '.join(lab.nodes)})")
    return node


def _signal(value: str) -> int:
    name = value.upper()
    if name.isdigit():
        return int(name)
    try:
        return int(signal.Signals[name if name.startswith("SIG") else f"SIG{name}"])
    except KeyError:
        raise click.BadParameter(f"unknown signal {value!r}") from None


@click.group("lab")
def lab_group() -> None:
    """A real Pacemaker + Corosync cluster in namespaces on this machine (root)."""


@lab_group.command("up")
@click.option("--nodes", "-n", type=click.IntRange(1, MAX_NODES), default=3, show_default=True)
@click.option("--ganesha", is_flag=True, help="A private system bus and ganesha.nfsd per node.")
@click.option("--no-fencing", is_flag=True, help="stonith-enabled=false, no fence device.")
@click.option(
    "--agent",
    "agents",
    multiple=True,
    metavar="PROVIDER:NAME",
    help="Install a registered agent as ocf:PROVIDER:NAME on every node (repeatable).",
)
@click.option("--grace-period", type=click.IntRange(1, 180), default=20, show_default=True)
@click.option("--lease-lifetime", type=click.IntRange(1, 120), default=10, show_default=True)
@click.option(
    "--pacemaker-env",
    "pacemaker_env",
    multiple=True,
    metavar="NAME=VALUE",
    help="Add to pacemakerd's environment, which the agents inherit (repeatable), e.g. "
    "HA_LOGFILE=/var/log/pacemaker/pacemaker.log.",
)
@workdir_option
def up(
    nodes: int,
    ganesha: bool,
    no_fencing: bool,
    agents: tuple[str, ...],
    grace_period: int,
    lease_lifetime: int,
    pacemaker_env: tuple[str, ...],
    workdir: str,
) -> None:
    """Bring a cluster up (tears it down again if it cannot)."""
    from ocfkit.lab.lab import Lab

    wanted: dict[str, list[str]] = {}
    for item in agents:
        provider, sep, name = item.partition(":")
        if not sep or not provider or not name:
            raise click.BadParameter(f"{item!r} is not PROVIDER:NAME", param_hint="--agent")
        wanted.setdefault(provider, []).append(name)
    extra_env: dict[str, str] = {}
    for item in pacemaker_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--pacemaker-env")
        extra_env[name] = value
    try:
        lab = Lab(
            workdir,
            nodes,
            ganesha=ganesha,
            fencing=not no_fencing,
            grace_period=grace_period,
            lease_lifetime=lease_lifetime,
            pacemaker_env=extra_env,
            progress=Progress(sys.stderr),
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    try:
        lab.up()
        for provider, names in wanted.items():
            for path in lab.install_agents(provider, names):
                click.echo(f"installed {path}", err=True)
    except UnsafeWorkdir as error:
        raise _fail(error) from error  # refused before anything started: nothing to take down
    except LabError as error:
        try:
            lab.down(graceful=False)
        except LabError as down_error:
            error.add_note(str(down_error))
        raise _fail(error) from error
    for node in lab.nodes:
        click.echo(f"{node}\t{lab.node_address(node)}\t{lab.layout.namespace(node)}")


@lab_group.command("down")
@click.option("--fast", is_flag=True, help="Kill Pacemaker instead of stopping it cleanly.")
@workdir_option
def down(fast: bool, workdir: str) -> None:
    """Stop everything the lab started and remove its namespaces (safe to repeat)."""
    from ocfkit.lab.lab import Lab

    try:
        lab = Lab.attach(workdir, progress=Progress(sys.stderr))
    except UnsafeWorkdir as error:
        raise _fail(error) from error
    except LabError:
        # No state file (deleted, or never written): the lab is still found
        # by its namespaces, whose names derive from the working directory.
        lab = Lab(workdir, 1, progress=Progress(sys.stderr))
    try:
        lab.down(graceful=not fast)
    except LabError as error:
        raise _fail(error) from error


@lab_group.command("status")
@workdir_option
def status(workdir: str) -> None:
    """The lab's nodes and processes, then crm_mon from a live node."""
    lab = _attach(workdir)
    state = lab.state()
    click.echo(f"lab {lab.layout.lab_id} in {lab.workdir}: {state.phase}")
    for node in lab.nodes:
        running = [f"{r.role}={r.pid}" for r in state.records(node) if is_alive(r.id)]
        link = "down" if node in state.links_down else "up"
        click.echo(f"{node}\t{lab.node_address(node)}\tlink {link}\t{' '.join(running) or '-'}")
    if state.phase == "up":
        try:
            click.echo(lab.crm_mon())
        except LabError as error:
            click.echo(f"(no crm_mon: {error})")


@lab_group.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--timeout", type=float, default=3600.0, show_default=True)
@workdir_option
def exec_(node: str, argv: tuple[str, ...], timeout: float, workdir: str) -> None:
    """Run a command inside NODE: ocfkit lab exec node1 -- crm_mon -1."""
    lab = _attach(workdir)
    try:
        command = lab.in_node(_node(lab, node), argv)
    except LabError as error:
        raise _fail(error) from error
    try:
        # The terminal's stdin and stdout, so interactive programs work.
        code = subprocess.run(command, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        raise click.ClickException(f"killed after {timeout:g}s") from None
    sys.exit(code)


@lab_group.command("install")
@click.option("--provider", required=True)
@click.argument("agents", nargs=-1, required=True)
@workdir_option
def install(provider: str, agents: tuple[str, ...], workdir: str) -> None:
    """Install registered agents as shims in every node's /usr/lib/ocf/resource.d/PROVIDER."""
    lab = _attach(workdir)
    try:
        for path in lab.install_agents(provider, list(agents)):
            click.echo(f"installed {path}")
    except LabError as error:
        raise _fail(error) from error


@lab_group.command("add-node")
@workdir_option
def add_node(workdir: str) -> None:
    """Add a node to the running cluster (as pcs cluster node add); prints its name and address."""
    lab = _attach(workdir)
    try:
        node = lab.add_node()
    except LabError as error:
        raise _fail(error) from error
    click.echo(f"{node}\t{lab.node_address(node)}\t{lab.layout.namespace(node)}")


@lab_group.command("remove-node")
@workdir_option
def remove_node(workdir: str) -> None:
    """Remove the last node from the cluster (as pcs cluster node remove)."""
    lab = _attach(workdir)
    try:
        click.echo(f"removed {lab.remove_node()}")
    except LabError as error:
        raise _fail(error) from error


@lab_group.command("logs")
@click.argument("node", required=False)
@click.option("--lines", type=int, default=40, show_default=True)
@workdir_option
def logs(node: str | None, lines: int, workdir: str) -> None:
    """The tail of a node's logs (all nodes and crm_mon without NODE)."""
    lab = _attach(workdir)
    click.echo(lab.logs(_node(lab, node), lines) if node else lab.report(lines))


def _node_command(
    name: str,
    help_text: str,
    act: Callable[..., None],
    *extra: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> None:
    """A command ``NAME NODE [OPTIONS]`` that calls ``act(lab, node, **options)``."""

    @click.argument("node")
    @workdir_option
    def command(node: str, workdir: str, **options: Any) -> None:
        lab = _attach(workdir)
        try:
            act(lab, _node(lab, node), **options)
        except LabError as error:
            raise _fail(error) from error

    command.__doc__ = help_text
    decorated: Callable[..., Any] = command
    for decorate in extra:
        decorated = decorate(decorated)
    lab_group.command(name)(decorated)


_node_command(
    "stop-pacemaker", "Stop Pacemaker on NODE cleanly.", lambda lab, n: lab.stop_pacemaker(n)
)
_node_command(
    "start-pacemaker",
    "Start Pacemaker on NODE (and corosync if needed); wait until it is online.",
    lambda lab, n: lab.start_pacemaker(n),
)
_node_command("link-down", "Cut NODE off the network.", lambda lab, n: lab.link_down(n))
_node_command("link-up", "Reconnect NODE.", lambda lab, n: lab.link_up(n))
_node_command(
    "fence", "Have the cluster fence NODE (kills its processes).", lambda lab, n: lab.fence(n)
)
_node_command(
    "boot",
    "Bring a fenced NODE back: link, services, corosync, Pacemaker.",
    lambda lab, n: lab.boot(n),
)
_node_command(
    "start-ganesha", "Start NODE's bus and ganesha.nfsd.", lambda lab, n: lab.start_ganesha(n)
)


def _kill_ganesha(lab: Lab, node: str, signal_name: str = "KILL") -> None:
    pids = lab.kill_ganesha(node, _signal(signal_name))
    click.echo(" ".join(map(str, pids)) or "no ganesha.nfsd running")


_node_command(
    "kill-ganesha",
    "Send a signal (default KILL) to NODE's ganesha.nfsd.",
    _kill_ganesha,
    click.option("--signal", "signal_name", default="KILL", show_default=True),
)


@lab_group.command(
    "nfs-client",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def nfs_client(args: tuple[str, ...]) -> None:
    """An NFSv4.1 client: hold, probe and reclaim opens and locks (nfs-client --help)."""
    from ocfkit.lab.nfs4.cli import main  # the nfs4 extra (xdrlib3), only when used

    main(list(args))
