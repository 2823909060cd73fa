"""The invariant, checked for every move of a virtual IP: grace first, then the address.

A move of the VIP ``vip`` from node X (``source``) to node Y (``target``) is
safe when, before the address is configured on Y:

1. Y's ganesha.nfsd is in grace, having taken over the clients recorded for
   the address (``5:<VIP>`` with the takeover layout, ``5:<X>`` with 3.7's),
   and
2. every other node whose ganesha.nfsd runs is in grace.

"Before" is proven by the recorder's bounded samples, never assumed: a
change is known to lie in ``(earliest, latest]``, so grace sampled at
``latest`` is before the address when that is no later than the address's
``earliest``.  Overlapping samples prove nothing and count as a violation.
The takeover itself is read from the logs: the agent's ``grace('5:...')``
line (nanosecond stamps) and ganesha.nfsd's own "recovery event 5" line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ocfkit.lab.recorder import Change, Recorder
from tests.scenarios.evidence import also_on, is_true
from tests.scenarios.logs import LogLine, select


@dataclass(frozen=True)
class Move:
    """``vip`` (whose home is ``home``) left ``source`` (None: held nowhere) for ``target``."""

    vip: str
    home: str
    source: str | None
    target: str


@dataclass
class Verdict:
    """What the samples and logs say about one move."""

    move: Move
    up: Change | None = None
    target_grace: Change | None = None
    takeover: LogLine | None = None
    survivors: dict[str, Change | None] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def grace_before(grace: Change | None, up: Change) -> bool:
    """Grace proven before the address: its sample ended no later than the address's began."""
    return grace is not None and grace.latest <= up.earliest


def takeover_key(move: Move, by_address: bool) -> str | None:
    """What Y's grace call names: the address, or the previous holder (3.7's way)."""
    if by_address:
        return move.vip
    return move.source


def takeover_line(
    lines: Iterable[LogLine], node: str, key: str, before: float | None = None
) -> LogLine | None:
    """The agent's line for the accepted grace call ``5:<key>`` on ``node``."""
    found = [
        line
        for line in select(lines, node=node, startswith=f"grace('5:{key}'): Started")
        if before is None or line.time <= before
    ]
    return found[-1] if found else None


def ganesha_took_over(ganesha_log: Mapping[str, list[str]], node: str, key: str) -> bool:
    """ganesha.nfsd on ``node`` itself reports taking over ``key`` (its own log)."""
    return any(line.endswith(f"recovery event 5 nodeid -1 ip {key}") for line in ganesha_log[node])


def check(
    move: Move,
    rec: Recorder,
    lines: list[LogLine],
    ganesha_log: Mapping[str, list[str]],
    *,
    since: float,
    running: Iterable[str],
    by_address: bool,
    agent_logs_grace: bool = True,
    records: str | None = None,
) -> Verdict:
    """The invariant for ``move``; ``running``: nodes whose ganesha.nfsd ran throughout.

    ``records``: the recovery root whose records the takeover must read (the
    previous holder's, on the state volume), when the stack keeps such records.
    """
    verdict = Verdict(move)
    up = rec.first("vip", move.vip, also_on(move.target), since)
    verdict.up = up
    if up is None:
        verdict.violations.append(f"{move.vip} never came up on {move.target}")
        return verdict
    grace = rec.first("grace", move.target, is_true, since)
    verdict.target_grace = grace
    if not grace_before(grace, up):
        verdict.violations.append(
            f"{move.target} not proven in grace before {move.vip} came up there"
        )
    key = takeover_key(move, by_address)
    if key is not None and move.source != move.target:
        if agent_logs_grace:
            verdict.takeover = takeover_line(lines, move.target, key, up.earliest)
            if verdict.takeover is None:
                verdict.violations.append(
                    f"{move.target} did not take over '5:{key}' before {move.vip} came up"
                )
        if not ganesha_took_over(ganesha_log, move.target, key):
            verdict.violations.append(f"ganesha.nfsd on {move.target} reports no takeover of {key}")
        if records is not None:
            said = f"taking over {move.vip}: its clients are recorded in {records}"
            if not [
                ln
                for ln in select(lines, node=move.target, startswith=said)
                if ln.time <= up.earliest
            ]:
                verdict.violations.append(f"{move.target} did not read the records in {records}")
    for node in running:
        if node in (move.target,):
            continue
        seen = rec.first("grace", node, is_true, since)
        verdict.survivors[node] = seen
        if not grace_before(seen, up):
            verdict.violations.append(f"{node} not proven in grace before {move.vip} came up")
    return verdict
