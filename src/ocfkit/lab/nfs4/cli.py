"""``ocfkit lab nfs-client``: hold, probe and reclaim NFSv4.1 state by hand.

For an operator trying a cluster (or a lab) the way a client sees it:

- ``hold`` opens a file, locks a range, writes, and then reads through that
  state every ``--interval``; when the server goes away it recovers (a new
  client and session, CLAIM_PREVIOUS, lock reclaim, RECLAIM_COMPLETE) and
  prints each step's timing and the client-visible outage;
- ``probe`` is another client trying a new open and lock (or a reclaim with
  ``--reclaim``) and printing each NFS4 status: NFS4ERR_GRACE during grace,
  NFS4ERR_DENIED while someone holds the range, NFS4ERR_NO_GRACE for a
  reclaim the server will not take;
- ``ping`` sends the NULL procedure.

``--json`` prints one JSON object per line, for scripts.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from types import FrameType
from typing import Any

import click

from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.const import LockType
from ocfkit.lab.nfs4.errors import NfsClientError, TransportError
from ocfkit.lab.nfs4.held import HeldState, RecoveryFailed, outcome_of
from ocfkit.lab.nfs4.netns import netns_connector
from ocfkit.lab.nfs4.probe import probe as run_probe
from ocfkit.lab.nfs4.rpc import Connector, RpcClient, tcp_connect

LOCK_TYPES = {"read": LockType.READ, "write": LockType.WRITE}


def _connector(netns: str | None) -> Connector:
    return netns_connector(netns) if netns else tcp_connect


def _emit(as_json: bool, event: dict[str, Any]) -> None:
    event = {"time": round(time.time(), 6), **event}
    if as_json:
        click.echo(json.dumps(event, sort_keys=False))
        return
    name = event.pop("event")
    stamp = time.strftime("%H:%M:%S", time.localtime(event.pop("time")))
    steps = event.pop("steps", None)
    fields = " ".join(f"{k}={v}" for k, v in event.items() if v not in (None, ""))
    click.echo(f"{stamp} {name} {fields}")
    for step in steps or ():
        click.echo(
            f"    {step['name']:<17} {step['outcome']:<20} {step['duration'] * 1000:9.1f} ms"
            f"  attempts {step['attempts']}{'  ' + step['detail'] if step['detail'] else ''}"
        )


def common_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--server", required=True, help="The server's address (the VIP)."),
            click.option("--port", type=click.IntRange(1, 65535), default=2049, show_default=True),
            click.option(
                "--netns",
                metavar="NAME|PATH",
                help="Connect from inside this network namespace (ip netns name or "
                "/proc/PID/ns/net), e.g. a lab node's.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(0.1),
                default=5.0,
                show_default=True,
                help="Seconds for each call.",
            ),
            click.option("--json", "as_json", is_flag=True, help="One JSON object per line."),
        ]
    ):
        function = option(function)
    return function


def range_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--offset", type=click.IntRange(0), default=0, show_default=True),
            click.option("--length", type=click.IntRange(1), default=64, show_default=True),
            click.option(
                "--lock-type",
                type=click.Choice(sorted(LOCK_TYPES)),
                default="write",
                show_default=True,
            ),
        ]
    ):
        function = option(function)
    return function


@click.group("nfs-client")
def nfs_client_group() -> None:
    """An NFSv4.1 client that holds opens and locks and reclaims them after a failover."""


@nfs_client_group.command("ping")
@common_options
def ping(server: str, port: int, netns: str | None, timeout: float, as_json: bool) -> None:
    """NULL procedure: does an NFSv4 server answer at ADDRESS?"""
    rpc = RpcClient(server, port, timeout=timeout, connector=_connector(netns))
    started = time.monotonic()
    try:
        Nfs4Client(rpc, b"ping").null()
    except NfsClientError as error:
        _emit(
            as_json,
            {"event": "ping", "server": server, "outcome": outcome_of(error), "error": str(error)},
        )
        sys.exit(2)
    finally:
        rpc.close()
    _emit(
        as_json,
        {
            "event": "ping",
            "server": server,
            "outcome": "ok",
            "seconds": round(time.monotonic() - started, 6),
        },
    )


@nfs_client_group.command("probe")
@common_options
@range_options
@click.option("--path", required=True, help="The file, from the server's root (/export/f).")
@click.option("--owner", default=None, help="co_ownerid (default: a new one per probe).")
@click.option(
    "--create/--no-create",
    default=False,
    show_default=True,
    help="Create the file if it does not exist.",
)
@click.option(
    "--reclaim",
    is_flag=True,
    help="Try to reclaim an open and a lock (CLAIM_PREVIOUS, reclaim=true) instead.",
)
def probe(
    server: str,
    port: int,
    netns: str | None,
    timeout: float,
    as_json: bool,
    offset: int,
    length: int,
    lock_type: str,
    path: str,
    owner: str | None,
    create: bool,
    reclaim: bool,
) -> None:
    """A new client tries OPEN and LOCK on PATH and says what the server answered.

    Steps: EXCHANGE_ID + CREATE_SESSION, (RECLAIM_COMPLETE unless --reclaim),
    LOOKUP, LOCKT, OPEN, LOCK, then LOCKU and CLOSE of whatever was granted.
    Exit status 0 when the probe ran (the statuses are its answer), 2 when
    the server could not be reached.
    """
    rpc = RpcClient(server, port, timeout=timeout, connector=_connector(netns))
    name = owner or f"ocfkit probe {socket.gethostname()} {time.time_ns()}"
    client = Nfs4Client(rpc, name.encode())
    results: dict[str, str] = {}
    try:
        run_probe(
            client,
            path,
            locktype=LOCK_TYPES[lock_type],
            offset=offset,
            length=length,
            reclaim=reclaim,
            create=create,
            into=results,
        )
    except NfsClientError as error:
        results["error"] = str(error)
        _emit(as_json, {"event": "probe", "server": server, "path": path, **results})
        sys.exit(2 if isinstance(error, TransportError) else 1)
    finally:
        rpc.close()
    _emit(as_json, {"event": "probe", "server": server, "path": path, **results})


class _Stop:
    """SIGINT / SIGTERM end a ``hold`` loop cleanly (the state is released)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


@nfs_client_group.command("hold")
@common_options
@range_options
@click.option("--path", required=True, help="The file, from the server's root (/export/f).")
@click.option(
    "--owner",
    required=True,
    help="co_ownerid: the same name is the same client (a Linux client uses "
    '"Linux NFSv4.1 <hostname>").',
)
@click.option(
    "--data",
    default="ocfkit nfs-client",
    show_default=True,
    help="What to write in the locked range.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.01),
    default=1.0,
    show_default=True,
    help="Seconds between reads through the held state.",
)
@click.option(
    "--duration",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Stop after this many seconds (0: until interrupted).",
)
@click.option(
    "--recover-deadline",
    type=click.FloatRange(1),
    default=120.0,
    show_default=True,
    help="Seconds a recovery (or the first open, during grace) may take: a "
    "restarting server is retried.",
)
@click.option(
    "--no-release",
    is_flag=True,
    help="On exit drop the connection without unlocking or closing (as a crash).",
)
def hold(
    server: str,
    port: int,
    netns: str | None,
    timeout: float,
    as_json: bool,
    offset: int,
    length: int,
    lock_type: str,
    path: str,
    owner: str,
    data: str,
    interval: float,
    duration: float,
    recover_deadline: float,
    no_release: bool,
) -> None:
    """Hold an open and a lock on PATH; reclaim them whenever the server loses them.

    Exit status 0 when every recovery succeeded, 1 when one was refused
    (the report says at which step, with the NFS4 status).
    """
    state = HeldState(
        server,
        path,
        client_owner=owner,
        port=port,
        connector=_connector(netns),
        timeout=timeout,
        offset=offset,
        length=length,
        locktype=LOCK_TYPES[lock_type],
    )
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        state.establish(data.encode(), wait=recover_deadline)
    except NfsClientError as error:
        steps = [asdict(s) for s in state.steps]
        _emit(
            as_json,
            {
                "event": "establish",
                "outcome": outcome_of(error),
                "error": str(error),
                "steps": steps,
            },
        )
        sys.exit(2 if isinstance(error, TransportError) else 1)
    _emit(
        as_json,
        {
            "event": "held",
            "server": server,
            "path": path,
            "owner": owner,
            "steps": [asdict(s) for s in state.steps],
        },
    )
    end = time.monotonic() + duration if duration else None
    failed = False
    recoveries = 0
    while not stop.requested and (end is None or time.monotonic() < end):
        time.sleep(interval)
        try:
            state.check()
            continue
        except NfsClientError as error:
            _emit(as_json, {"event": "lost", "outcome": outcome_of(error), "error": str(error)})
        try:
            report = state.recover(recover_deadline)
        except RecoveryFailed as error:
            _emit(as_json, {"event": "recovery-failed", **error.report.to_dict()})
            failed = True
            break
        recoveries += 1
        _emit(as_json, {"event": "recovered", **report.to_dict()})
    if failed or no_release:
        state.abandon()
    else:
        try:
            state.release()
        except NfsClientError as error:
            _emit(as_json, {"event": "release", "outcome": outcome_of(error), "error": str(error)})
            state.abandon()
    _emit(as_json, {"event": "done", "recoveries": recoveries, "failed": failed})
    sys.exit(1 if failed else 0)


def main(argv: list[str] | None = None) -> None:
    nfs_client_group.main(argv, prog_name="ocfkit lab nfs-client")


__all__ = ["main", "nfs_client_group"]
