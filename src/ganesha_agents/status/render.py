"""The status for people (one screen of plain text, colour on a terminal) and for monitoring (JSON).

The JSON document's keys are stable; docs/operations.md lists them.  A key
is added, never renamed or removed, without raising ``schema``.
"""

from __future__ import annotations

from typing import Any

from ganesha_agents.status.model import (
    IN_GRACE,
    ONLINE,
    READY,
    RUNNING_ROLES,
    NodeStatus,
    Observation,
    Status,
    Verdict,
    VipStatus,
)

SCHEMA = 1

_COLOURS = {"good": "32", "bad": "31;1", "warn": "33", "dim": "2", "bold": "1"}


class _Paint:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, kind: str) -> str:
        if not self.colour or not text:
            return text
        return f"\x1b[{_COLOURS[kind]}m{text}\x1b[0m"


def text(status: Status, verdict: Verdict, *, colour: bool = False, when: str = "") -> str:
    """One screen: the cluster line, a block per node, the virtual IPs, failures, the verdict."""
    paint = _Paint(colour)
    dc = f"DC {status.dc}" if status.dc else paint("no DC", "bad")
    quorum = "quorum" if status.quorate else paint("NO quorum", "bad")
    seen = f", seen from {status.local_node}" if status.local_node else ""
    stamp = f"  {when}" if when else ""
    lines = [
        paint(f"NFS-Ganesha HA ({status.layout} layout)", "bold") + f": {dc}, {quorum}{seen}{stamp}"
    ]
    for node in status.nodes:
        lines += ["", *_node(node, paint)]
    lines += ["", paint("Virtual IPs", "bold")]
    lines += [_vip(vip, paint) for vip in status.vips] or ["  none"]
    if status.failures:
        lines += ["", paint("Failed actions", "bold")]
        for failure in status.failures:
            reason = failure.exit_reason or failure.exit_status or "no reason given"
            at = f" at {failure.last_change}" if failure.last_change else ""
            lines.append(f"  {paint(failure.operation, 'bad')} on {failure.node}: {reason}{at}")
    kind = "good" if verdict.state == READY else "warn" if verdict.state == IN_GRACE else "bad"
    lines += ["", paint("Verdict: ", "bold") + paint(verdict.summary, kind)]
    lines += [f"  - {problem}" for problem in verdict.problems]
    if verdict.problems:
        # Not bulleted as the problems are: "2 problems" above three bullets misled on the lab.
        lines += [f"  also waiting: {waiting}" for waiting in verdict.waiting]
    return "\n".join(lines) + "\n"


def _node(node: NodeStatus, paint: _Paint) -> list[str]:
    here = " (this node)" if node.local else ""
    member = paint(node.membership, "good" if node.membership == ONLINE else "bad")
    ganesha = _observation(node.ganesha, "running", "NOT running", paint, good=True)
    grace = _observation(node.grace, "in grace", "not in grace", paint, good=False)
    attributes = " ".join(
        f"{key}={value}" if value is not None else paint(f"{key} unset", "bad")
        for key, value in node.attributes.items()
    )
    resources = [f"nfs-mon {_role(node.nfs_mon, paint)}"]
    if node.nfs_grace is not None:
        resources.append(f"nfs-grace {_role(node.nfs_grace, paint)}")
    if node.takeover:
        roles = ", ".join(
            f"{clone.removesuffix('-takeover-clone')} {_role(role, paint)}"
            for clone, role in node.takeover
        )
        resources.append(f"takeover: {roles}")
    return [
        paint(node.name, "bold") + here + "  " + member,
        f"  ganesha.nfsd  {ganesha}",
        f"  grace         {grace}",
        f"  attributes    {attributes}",
        f"  resources     {'; '.join(resources)}",
        f"  VIPs          {', '.join(node.vips) or '-'}",
    ]


def _observation(seen: Observation, yes: str, no: str, paint: _Paint, *, good: bool) -> str:
    if seen.value is None:
        return paint(f"unknown ({seen.detail})", "dim" if seen.source == "none" else "warn")
    word = yes if seen.value else no
    fine = seen.value == good
    return paint(word, "good" if fine else "bad" if good else "warn") + paint(
        f" ({seen.source}: {seen.detail})", "dim"
    )


def _role(role: str | None, paint: _Paint) -> str:
    if role is None:
        return paint("not configured", "bad")
    return paint(role, "good" if role in RUNNING_ROLES else "bad")


def _vip(vip: VipStatus, paint: _Paint) -> str:
    where = ", ".join(vip.holders) or paint("stopped", "bad")
    if vip.failed:
        state = paint("FAILED", "bad")
    elif vip.at_home:
        state = paint("at home", "good")
    elif vip.holders:
        state = paint(f"away from {vip.home or 'its home'}", "warn")
    else:
        state = ""
    return f"  {vip.resource:<24} {where:<12} {state}".rstrip()


def as_dict(status: Status, verdict: Verdict) -> dict[str, Any]:
    """The JSON document (keys documented in docs/operations.md)."""
    return {
        "schema": SCHEMA,
        "ok": verdict.ready,
        "verdict": {
            "state": verdict.state,
            "summary": verdict.summary,
            "problems": list(verdict.problems),
            "waiting": list(verdict.waiting),
        },
        "cluster": {
            "dc": status.dc,
            "quorate": status.quorate,
            "layout": status.layout,
            "local_node": status.local_node,
        },
        "nodes": [
            {
                "name": node.name,
                "membership": node.membership,
                "local": node.local,
                "ganesha": _seen(node.ganesha, "alive"),
                "grace": {**_seen(node.grace, "in_grace"), "since": node.grace.since},
                "attributes": dict(node.attributes),
                "resources": {
                    "nfs-mon": node.nfs_mon,
                    "nfs-grace": node.nfs_grace,
                    "takeover": dict(node.takeover),
                },
                "vips": list(node.vips),
            }
            for node in status.nodes
        ],
        "vips": [
            {
                "resource": vip.resource,
                "home": vip.home,
                "holders": list(vip.holders),
                "at_home": vip.at_home,
                "failed": vip.failed,
                "promoted": None if vip.promoted is None else list(vip.promoted),
            }
            for vip in status.vips
        ],
        "failed_actions": [
            {
                "operation": f.operation,
                "node": f.node,
                "exit_status": f.exit_status,
                "exit_reason": f.exit_reason,
                "exit_code": f.exit_code,
                "last_change": f.last_change,
            }
            for f in status.failures
        ],
        "error": None,
    }


def _seen(seen: Observation, key: str) -> dict[str, Any]:
    return {key: seen.value, "source": seen.source, "detail": seen.detail}


def error_dict(reason: str) -> dict[str, Any]:
    """The JSON document when the cluster's state cannot be read at all."""
    return {
        "schema": SCHEMA,
        "ok": False,
        "verdict": {"state": "unknown", "summary": reason, "problems": [reason], "waiting": []},
        "cluster": None,
        "nodes": [],
        "vips": [],
        "failed_actions": [],
        "error": reason,
    }
