"""``ganesha-agents setup``, ``teardown``, ``add``, ``delete``: the configuration, changed live.

Each command reads the CIB, computes the whole would-be CIB
(:mod:`ganesha_agents.operate.cibedit`), runs Pacemaker's scheduler on a
copy of it, and applies it as ONE CIB update
(:mod:`ganesha_agents.operate.pacemaker`); then it follows the cluster until
``ganesha-agents status`` would say ready.  ``--dry-run`` stops before the
update and prints the diff and the scheduler's prediction.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ganesha_agents.config import ClusterSpec, NodeAddress
from ganesha_agents.config_cli import spec_from, spec_options

#: Exit codes (also in each command's help and docs/operations.md).
DONE = 0
NOT_READY = 1
REFUSED = 3
FAILED = 4
#: Bound of everything before the wait: the checks, the tools, the update.
CHANGE_TIMEOUT = 120.0
DEFAULT_TIMEOUT = 300


def _echo(line: str) -> None:
    click.echo(line)


def _refuse(reasons: tuple[str, ...] | list[str], what: str = "refused") -> None:
    click.echo(f"{what}; nothing was changed:", err=True)
    for reason in reasons:
        click.echo(f"  - {reason}", err=True)
    sys.exit(REFUSED)


def _fail(error: Exception) -> None:
    click.echo(f"error: {error}", err=True)
    click.echo("nothing was changed (the update is applied whole or not at all)", err=True)
    sys.exit(FAILED)


WAIT_OPTIONS = (
    click.option(
        "--timeout",
        type=click.IntRange(1, 3600),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds to wait for the cluster after the change.",
    ),
    click.option("--no-wait", is_flag=True, help="Apply the change and return without waiting."),
    click.option(
        "--dry-run",
        is_flag=True,
        help="Print the CIB diff (crm_diff) and what crm_simulate predicts; change nothing.",
    ),
    click.option(
        "--node-name",
        default=None,
        metavar="NAME",
        help="This node's cluster name, for the wait's local view.  [default: crm_node -n]",
    ),
    click.option(
        "--pid-file",
        "pid_files",
        multiple=True,
        metavar="PATH",
        help="ganesha.nfsd's pid file (repeat).  [default: ganesha's known places]",
    ),
)


def wait_options(command: Any) -> Any:
    for option in reversed(WAIT_OPTIONS):
        command = option(command)
    return command


def _run_change(
    compute: Callable[[Any], Any],
    *,
    dry_run: bool,
) -> Any:
    """Compute, simulate and check the change; apply it unless ``dry_run``; the change."""
    from ganesha_agents.operate import cibedit, pacemaker, predict
    from ocfkit.clock import SystemClock
    from ocfkit.deadline import Deadline

    bound = Deadline(SystemClock(), CHANGE_TIMEOUT, reserve=0.0)
    seen: list[Any] = []

    with pacemaker.workspace() as workdir:
        tools = pacemaker.Pacemaker(bound, workdir)

        def check(change: cibedit.Change) -> None:
            prediction = tools.simulate(change.after)
            problems, notes = predict.problems(change, prediction)
            seen[:] = [change, prediction, notes]
            if problems and not dry_run:
                raise cibedit.Refused(
                    [
                        *problems,
                        "crm_simulate on a copy of the CIB predicts this (--dry-run shows"
                        " every action)",
                    ]
                )

        try:
            if dry_run:
                change = compute(tools.query())
                check(change)
                diff = tools.diff(change.before, change.after)
                prediction, notes = seen[1], seen[2]
                problems, _ = predict.problems(change, prediction)
                for line in change.summary:
                    _echo(line)
                _echo("--- the CIB diff (crm_diff); nothing is applied with --dry-run")
                click.echo(diff or "(no difference)\n", nl=False)
                _echo("--- what crm_simulate predicts")
                for line in prediction.actions() or ["(no action)"]:
                    _echo(f"  {line}")
                for note in notes:
                    _echo(f"  note: {note}")
                if problems:
                    _refuse(problems, "the change would be refused")
                sys.exit(DONE)
            diff = pacemaker.commit(tools, compute, check)
        except cibedit.Refused as error:
            _refuse(error.reasons)
        except pacemaker.PacemakerError as error:
            _fail(error)
    change, prediction, notes = seen
    if not diff:
        _echo("nothing to change: the CIB already holds it")
        return change
    for line in change.summary:
        _echo(line)
    _echo("applied in one CIB update")
    for note in notes:
        _echo(f"note: {note}")
    return change


def _wait(timeout: int, no_wait: bool, node_name: str | None, pid_files: tuple[str, ...]) -> None:
    from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES
    from ganesha_agents.operate import wait

    if no_wait:
        _echo("not waiting (--no-wait): ganesha-agents status shows the cluster")
        sys.exit(DONE)
    _echo(f"waiting up to {timeout}s for the cluster (the verdict of ganesha-agents status):")
    files = pid_files or DEFAULT_PID_FILES
    verdict = wait.until_ready(lambda: wait.look_at_cluster(node_name, files), timeout, _echo)
    if verdict.state in ("ready", "in-grace"):
        _echo(f"done: {verdict.summary}")
        sys.exit(DONE)
    _echo(
        f"the change is in place, but the cluster is not ready after {timeout}s: "
        "ganesha-agents status says what is missing"
    )
    sys.exit(NOT_READY)


EXIT_CODES = (
    "Exit codes: 0 done (and ready, unless --no-wait); 1 the change is in place "
    "but the cluster was not ready within --timeout; 2 bad arguments; 3 refused "
    "(a check failed), nothing changed; 4 a Pacemaker tool failed, nothing changed."
)


@click.command("setup", epilog=EXIT_CODES, context_settings={"show_default": True})
@spec_options
@click.option(
    "--skip-check",
    "skip",
    multiple=True,
    type=click.Choice(["agents", "ganesha", "volume"]),
    help="Leave out one of this node's checks (repeat): only when running where they "
    "cannot pass by design, a CIB file (CIB_file) for instance.",
)
@click.option("--ocf-root", default="/usr/lib/ocf", show_default=True, help="Where the agents are.")
@wait_options
def setup_command(
    skip: tuple[str, ...],
    ocf_root: str,
    timeout: int,
    no_wait: bool,
    dry_run: bool,
    node_name: str | None,
    pid_files: tuple[str, ...],
    **values: Any,
) -> None:
    """Load the NFS-Ganesha HA configuration into the cluster, in one CIB update.

    Takes the options of ``ganesha-agents config``.  First checks this node
    (the agents installed by this version, their meta-data, ganesha.nfsd
    answering, the state volume with --ha-vol-mnt) and the CIB (no id or
    address of the configuration already there, every node a cluster node);
    runs crm_simulate on a copy of the would-be CIB; applies it as one
    update; waits until the cluster is ready.
    """
    from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES
    from ganesha_agents.operate import cibedit, preflight
    from ocfkit.clock import SystemClock
    from ocfkit.deadline import Deadline

    spec: ClusterSpec = spec_from(values)
    bound = Deadline(SystemClock(), CHANGE_TIMEOUT, reserve=0.0)
    problems = preflight.run_checks(
        spec,
        bound,
        skip=skip,
        ocf_root=ocf_root,
        pid_files=pid_files or DEFAULT_PID_FILES,
        progress=_echo,
    )
    if problems:
        _refuse(problems)
    _run_change(lambda live: cibedit.setup(live, spec), dry_run=dry_run)
    _wait(timeout, no_wait, node_name, pid_files)


@click.command("teardown", epilog=EXIT_CODES)
@click.option(
    "--timeout",
    type=click.IntRange(1, 3600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the removed resources to stop.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the CIB diff (crm_diff) and what crm_simulate predicts; change nothing.",
)
def teardown_command(timeout: int, dry_run: bool) -> None:
    """Remove the NFS-Ganesha HA configuration from the cluster, in one CIB update.

    Removes exactly the resources and constraints the configuration's plan
    generates (recovered from the CIB and checked element by element), then,
    once they have stopped, the node attributes ganesha_mon published.
    Refuses when an element was edited by hand or a constraint of someone
    else's names one of its resources.  Cluster properties are left alone.
    """
    from ganesha_agents.operate import cibedit, pacemaker, wait
    from ganesha_agents.status import query
    from ocfkit.clock import SystemClock
    from ocfkit.deadline import Deadline

    change = _run_change(cibedit.teardown, dry_run=dry_run)
    spec: ClusterSpec = change.spec

    def state() -> Any:
        try:
            return query.cluster_state(query.deadline())
        except query.QueryError as error:
            _echo(f"cannot read the cluster's state: {error}")
            from ganesha_agents.status.model import ClusterState

            return ClusterState(None, False, (), (), {}, ())

    _echo(f"waiting up to {timeout}s for {len(change.removed)} resources to stop:")
    running = wait.until_stopped(state, set(change.removed), timeout, _echo)
    from ganesha_agents import published_grace

    # The last: what ganesha_mon's watcher published of the server's grace.
    attributes = (spec.ganesha_active, spec.grace_active, published_grace.ATTRIBUTE)
    if running:
        _echo(
            f"still running after {timeout}s: {', '.join(running)}; the node attributes "
            f"{', '.join(attributes)} are left: delete them once it has stopped "
            "(crm_attribute --node NODE --name NAME --lifetime reboot --delete)"
        )
        sys.exit(NOT_READY)
    with pacemaker.workspace() as workdir:
        tools = pacemaker.Pacemaker(Deadline(SystemClock(), CHANGE_TIMEOUT), workdir)
        for node in change.cluster_nodes:
            for name in attributes:
                try:
                    tools.delete_attribute(node, name)
                except pacemaker.PacemakerError as error:
                    _echo(f"could not delete {name} on {node}: {error}")
    _echo(f"deleted the node attributes {', '.join(attributes)} on every node")
    _echo("done: NFS-Ganesha HA is no longer configured (cluster properties are left as they are)")
    sys.exit(DONE)


def _node(_ctx: click.Context, param: click.Parameter, value: str) -> NodeAddress:
    try:
        return NodeAddress.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from error


@click.command("add", epilog=EXIT_CODES)
@click.argument("node", metavar="NODE=IP", callback=_node)
@wait_options
def add_command(
    node: NodeAddress,
    timeout: int,
    no_wait: bool,
    dry_run: bool,
    node_name: str | None,
    pid_files: tuple[str, ...],
) -> None:
    """Add a node and its virtual IP to the live configuration, in one CIB update.

    NODE must already be a cluster node with the agents installed and
    ganesha.nfsd running.  It goes last in the failover order; every
    address's preference scores are recomputed for the new node list.  The
    would-be CIB goes through crm_simulate first: a change that would stop
    a running address, or run one twice, is refused.
    """
    from ganesha_agents.operate import cibedit

    _run_change(lambda live: cibedit.add(live, node), dry_run=dry_run)
    _wait(timeout, no_wait, node_name, pid_files)


@click.command("delete", epilog=EXIT_CODES)
@click.argument("name", metavar="NODE")
@wait_options
def delete_command(
    name: str,
    timeout: int,
    no_wait: bool,
    dry_run: bool,
    node_name: str | None,
    pid_files: tuple[str, ...],
) -> None:
    """Take a node and its virtual IP out of the live configuration, in one CIB update.

    Its address, its takeover clone and every rule naming it go; the other
    addresses' scores are recomputed without it, so none stays on it.  The
    would-be CIB goes through crm_simulate first: a change that would leave
    an address on NODE, stop another running address or run one twice is
    refused.  NODE stays a cluster node: remove it from the cluster
    afterwards (pcs cluster node remove NODE).
    """
    from ganesha_agents.operate import cibedit

    _run_change(lambda live: cibedit.delete(live, name), dry_run=dry_run)
    _echo(f"{name} is still a cluster node: pcs cluster node remove {name} when it should leave")
    _wait(timeout, no_wait, node_name, pid_files)


@click.command("refresh-config")
@click.option(
    "--exports",
    "path",
    required=True,
    metavar="FILE",
    help="ganesha's export configuration (EXPORT blocks with an Export_Id); ganesha reads it "
    "itself, so it must be readable by ganesha.nfsd at the same path.",
)
@click.option(
    "--remove",
    "remove",
    multiple=True,
    type=click.IntRange(1, 65535),
    metavar="ID",
    help="Also remove the export with this Export_Id (repeat).",
)
@click.option(
    "--call-timeout",
    type=click.FloatRange(0.1, 120.0),
    default=10.0,
    show_default=True,
    help="Seconds one D-Bus call may take.",
)
def refresh_config_command(path: str, remove: tuple[int, ...], call_timeout: float) -> None:
    """Update or add this node's ganesha exports from FILE, over D-Bus, without a restart.

    For each EXPORT block of FILE, by its Export_Id: UpdateExport when
    ganesha.nfsd has that export, AddExport when it has not; RemoveExport
    for each --remove.  One line per export with ganesha's answer.  This
    node only: run it on every node (ocfkit lab exec in the lab; ssh, or
    pcs cluster ... with the same file, in production).

    Exit codes: 0 every export refreshed; 1 ganesha refused at least one
    (the others are done); 2 bad arguments; 3 FILE cannot be used, or
    ganesha.nfsd cannot be reached.
    """
    from ganesha_agents.backends import exportmgr
    from ganesha_agents.operate import exports
    from ganesha_agents.status import query
    from ocfkit.errors import OCFError

    try:
        absolute, ids = exports.read_ids(path)
        manager = exportmgr.system_manager()
        outcomes = exports.refresh(manager, absolute, ids, remove, call_timeout)
    except exports.ExportsError as error:
        click.echo(f"error: {error}; nothing was asked of ganesha", err=True)
        sys.exit(REFUSED)
    except OCFError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(REFUSED)
    sys.exit(report_exports(outcomes, query.local_node(query.deadline(5.0)) or "this node"))


def report_exports(outcomes: Any, node: str) -> int:
    """One line per export; the exit code."""
    for outcome in outcomes:
        state = outcome.action if outcome.ok else f"NOT {outcome.action}"
        detail = f": {outcome.message}" if outcome.message else ""
        click.echo(f"{node}: export {outcome.export_id} {state}{detail}")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        click.echo(f"{node}: {len(failed)} of {len(outcomes)} failed", err=True)
        return NOT_READY
    return DONE
