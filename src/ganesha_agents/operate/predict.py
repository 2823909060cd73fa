"""What ``crm_simulate`` predicts for a would-be CIB, and what in it would be a problem.

A change is refused when the scheduler, run on a copy of the live CIB with
the change in it until the cluster settles, would leave an address that
runs now stopped, run one on two nodes, leave any address on a node being
deleted, or not settle at all.  An address that does not run before and
does not start after (a new node whose ganesha.nfsd is not running yet) is
only a note: it starts once its node's ganesha_mon says the server runs.
"""

from __future__ import annotations

import attrs
from lxml import etree

from ganesha_agents.config.offline import Transition
from ganesha_agents.operate.cibedit import VIP_SUFFIX, Change


@attrs.frozen
class Prediction:
    """The transitions the scheduler would run, and where things were before them."""

    transitions: tuple[Transition, ...]
    before: dict[str, set[str]]
    settled: bool

    def actions(self) -> list[str]:
        """One line per action that changes something, transition by transition."""
        lines = []
        for number, transition in enumerate(self.transitions, start=1):
            for action in transition.changes():
                if action.operation in ("notify", "delete"):
                    continue
                lines.append(
                    f"transition {number}: {action.operation} {action.resource} on {action.node}"
                )
        return lines

    def after(self, resource: str) -> set[str]:
        """Where ``resource`` is active once the predicted transitions have run."""
        if not self.transitions:
            return set(self.before.get(resource, set()))
        return self.transitions[-1].placement(resource)


def placement(status: etree._Element | None) -> dict[str, set[str]]:
    """resource id -> nodes where it (any instance) is active, in a crm_simulate status."""
    found: dict[str, set[str]] = {}
    if status is None:
        return found
    for element in status.iterfind("resources//resource"):
        if element.get("active") == "true":
            found.setdefault(element.get("id", ""), set()).update(
                node.get("name", "") for node in element.iterfind("node")
            )
    return found


def problems(change: Change, prediction: Prediction) -> tuple[list[str], list[str]]:
    """(problems that refuse the change, notes) for the predicted outcome."""
    found: list[str] = []
    notes: list[str] = []
    if not prediction.settled:
        found.append(
            f"the scheduler does not settle within {len(prediction.transitions)} transitions"
        )
    kept = () if change.kind == "teardown" else change.spec.nodes
    for vip in (f"{node.name}{VIP_SUFFIX}" for node in kept):
        before, after = prediction.before.get(vip, set()), prediction.after(vip)
        if len(after) > 1:
            found.append(f"{vip} would be active on {', '.join(sorted(after))} at once")
        elif before and not after:
            found.append(f"{vip} runs on {', '.join(sorted(before))} and would be stopped")
        elif not after:
            notes.append(f"{vip} would not start yet (no node can hold it now)")
        if change.removed_node is not None and change.removed_node in after:
            found.append(f"{vip} would stay on {change.removed_node}, which is being deleted")
    for resource in change.removed:
        left = prediction.after(resource)
        if left:
            found.append(f"{resource} would still be active on {', '.join(sorted(left))}")
    return found, notes
