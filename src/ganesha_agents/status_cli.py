"""``ganesha-agents status``: the click command around :mod:`ganesha_agents.status`."""

from __future__ import annotations

import json
import os
import sys
import time
from time import sleep

import click

#: Exit codes (also in the command's help and docs/operations.md).
READY = 0
NOT_READY = 1
UNREADABLE = 3
#: Ctrl-C before the first screen was shown (the shell's 128 + SIGINT).
INTERRUPTED = 130
#: ``--watch``'s refresh interval bounds, in seconds.
MIN_INTERVAL = 1.0
MAX_INTERVAL = 300.0
#: Home the cursor and clear the screen (a terminal only).
CLEAR = "\x1b[H\x1b[2J"


@click.command("status")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON document (keys: docs/operations.md)."
)
@click.option(
    "--watch",
    is_flag=True,
    help="Refresh every --interval seconds until Ctrl-C (or --count screens).",
)
@click.option(
    "--interval",
    type=click.FloatRange(MIN_INTERVAL, MAX_INTERVAL),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes with --watch.",
)
@click.option(
    "--count",
    type=click.IntRange(1, None),
    default=None,
    help="With --watch, stop after this many refreshes.  [default: until Ctrl-C]",
)
@click.option(
    "--node",
    "node",
    default=None,
    metavar="NAME",
    help="This node's cluster name.  [default: crm_node -n]",
)
@click.option(
    "--pid-file",
    "pid_files",
    multiple=True,
    metavar="PATH",
    help="ganesha.nfsd's pid file (repeat to try several).  [default: ganesha's known places]",
)
@click.option(
    "--colour/--no-colour",
    "--color/--no-color",
    "colour",
    default=None,
    help="Colour the text.  [default: on a terminal, unless NO_COLOR is set]",
)
def status_command(
    as_json: bool,
    watch: bool,
    interval: float,
    count: int | None,
    node: str | None,
    pid_files: tuple[str, ...],
    colour: bool | None,
) -> None:
    """Whether the cluster can lose any one node and keep serving NFS, and what is missing.

    Per node: membership, ganesha.nfsd alive and in grace (asked directly on
    this node; from ganesha_mon's attributes elsewhere), ganesha-active and
    grace-active, the nfs-mon / nfs-grace / takeover resources, the virtual
    IPs it holds; then every virtual IP, the failed actions and the verdict.
    One crm_mon call per refresh, every program bounded in time.

    Exit codes: 0 ready; 1 not ready, or in grace (the verdict says which);
    2 bad arguments; 3 the cluster's state cannot be read; 130 Ctrl-C before
    the first screen.
    """
    from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES

    if count is not None and not watch:
        raise click.UsageError("--count goes with --watch")
    files = pid_files or DEFAULT_PID_FILES
    painted = _colour_wanted(colour) and not as_json
    if not watch:
        code, screen = _refresh(node, files, as_json, painted)
        click.echo(screen, nl=False)
        sys.exit(code)
    terminal = sys.stdout.isatty() and not as_json
    code = INTERRUPTED
    shown = 0
    try:
        while count is None or shown < count:
            began = time.monotonic()
            code, screen = _refresh(node, files, as_json, painted)
            click.echo((CLEAR if terminal else "") + screen, nl=False)
            shown += 1
            if count is not None and shown >= count:
                break
            sleep(max(0.0, interval - (time.monotonic() - began)))
    except KeyboardInterrupt:
        if not as_json:
            click.echo("")
    sys.exit(code)


def _colour_wanted(colour: bool | None) -> bool:
    if colour is not None:
        return colour
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _refresh(
    node: str | None, pid_files: tuple[str, ...], as_json: bool, colour: bool
) -> tuple[int, str]:
    """One look at the cluster: the exit code and what to print."""
    from ganesha_agents.status import query, render
    from ganesha_agents.status.build import build
    from ganesha_agents.status.verdict import judge

    bound = query.deadline()
    try:
        state = query.cluster_state(bound)
    except query.QueryError as error:
        reason = str(error)
        if as_json:
            return UNREADABLE, json.dumps(render.error_dict(reason)) + "\n"
        return UNREADABLE, f"cannot read the cluster's state: {reason}\n"
    name = node or query.local_node(bound)
    local = query.local_view(name, bound, pid_files) if name else None
    status = build(state, local)
    verdict = judge(status)
    code = READY if verdict.ready else NOT_READY
    if as_json:
        return code, json.dumps(render.as_dict(status, verdict)) + "\n"
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    return code, render.text(status, verdict, colour=colour, when=when)
