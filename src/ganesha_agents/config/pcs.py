"""The configuration as pcs commands, for people who configure their cluster with pcs.

The commands edit a copy of the CIB (``pcs cluster cib FILE``, then
``pcs -f FILE ...``) and push it back once (``pcs cluster cib-push FILE
--config``), as ganesha-ha.sh did.  Run one by one against the live cluster,
each virtual IP would start, wherever Pacemaker liked, before the rules that
tie it to a running ganesha.nfsd existed.

Every id pcs generates equals the id :mod:`ganesha_agents.config.cib` writes,
and the syntax is the one pcs 0.11 (Debian 12) and 0.12 read the same way;
the 3.7 layout, which names no role, also reads the same on pcs 0.10:

- clones are made with ``resource clone`` (``resource promotable`` for the
  takeover clones) and their meta attributes set with ``resource meta
  CLONE-ID``.  The meta options of ``resource create ... clone`` changed
  spelling between versions (``meta`` keyword required since 0.11.6), and an
  option that lands on the primitive instead of the clone is exactly how 3.7
  lost its notifications;
- ``--no-default-ops`` keeps pcs from adding operations from the agent's
  meta-data, so the operations are the ones listed, as in the XML;
- locations use ``prefers`` (id ``location-RSC-NODE-SCORE``) and
  ``rule constraint-id=...`` (rule ``ID-rule``, expressions ``ID-rule-expr``,
  ``ID-rule-expr-1``); colocations and orders pass ``id=``;
- roles are ``Promoted`` / ``Unpromoted`` (pcs 0.10 knew only Master/Slave).

pcs reads each agent's meta-data when creating a resource, and refuses
``resource promotable`` for an agent it cannot read, so run the commands on a
cluster node where the ganesha agents are installed.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from ganesha_agents.config.model import (
    Clone,
    Colocation,
    Configuration,
    Constraint,
    NodePreference,
    Order,
    Primitive,
    RuleLocation,
)
from ganesha_agents.config.model import seconds as _seconds

Argv = tuple[str, ...]
DEFAULT_CIB_FILE = "ganesha-ha.cib.xml"


def commands(config: Configuration, cib_file: str = DEFAULT_CIB_FILE) -> tuple[Argv, ...]:
    """Every pcs invocation, in order, as argv lists."""
    pcs = ("pcs", "-f", cib_file)
    argvs: list[Argv] = [("pcs", "cluster", "cib", cib_file)]
    if config.properties:
        argvs.append((*pcs, "property", "set", *_pairs(config.properties)))
    for resource in config.resources:
        primitive = resource.primitive if isinstance(resource, Clone) else resource
        argvs.append((*pcs, *_create(primitive)))
        if isinstance(resource, Clone):
            kind = "promotable" if resource.promotable else "clone"
            argvs.append((*pcs, "resource", kind, primitive.id))
            if resource.meta:
                argvs.append((*pcs, "resource", "meta", resource.id, *_pairs(resource.meta)))
    argvs.extend((*pcs, *argv) for argv in _constraints(config.constraints))
    argvs.append(("pcs", "cluster", "cib-push", cib_file, "--config"))
    return tuple(argvs)


def script(config: Configuration, cib_file: str = DEFAULT_CIB_FILE) -> str:
    """The commands as shell lines, each argument quoted where the shell needs it."""
    return "".join(shlex.join(argv) + "\n" for argv in commands(config, cib_file))


def _pairs(pairs: tuple[tuple[str, str], ...]) -> Argv:
    return tuple(f"{name}={value}" for name, value in pairs)


def _create(primitive: Primitive) -> Argv:
    argv: list[str] = ["resource", "create", primitive.id, primitive.agent]
    argv.extend(_pairs(primitive.params))
    if primitive.operations:
        argv.append("op")
        for op in primitive.operations:
            argv += [
                op.name,
                f"interval={_seconds(op.interval)}",
                f"timeout={_seconds(op.timeout)}",
            ]
            if op.role is not None:
                argv.append(f"role={op.role}")
    if primitive.meta:
        argv += ["meta", *_pairs(primitive.meta)]
    argv.append("--no-default-ops")
    return tuple(argv)


def _constraints(constraints: tuple[Constraint, ...]) -> Iterator[Argv]:
    """One command per constraint, except that a resource's node scores share one."""
    pending: list[NodePreference] = []
    for constraint in constraints:
        if pending and not (
            isinstance(constraint, NodePreference) and constraint.resource == pending[0].resource
        ):
            yield _prefers(pending)
            pending = []
        if isinstance(constraint, NodePreference):
            pending.append(constraint)
        elif isinstance(constraint, RuleLocation):
            yield _rule(constraint)
        elif isinstance(constraint, Colocation):
            yield _colocation(constraint)
        else:
            yield _order(constraint)
    if pending:
        yield _prefers(pending)


def _prefers(preferences: list[NodePreference]) -> Argv:
    scores = (f"{p.node}={p.score}" for p in preferences)
    return ("constraint", "location", preferences[0].resource, "prefers", *scores)


def _rule(location: RuleLocation) -> Argv:
    expression: list[str] = []
    for item in location.expressions:
        if expression:
            expression.append("or")
        if item.value is None:
            expression += [item.operation, item.attribute]
        else:
            expression += [item.attribute, item.operation, item.value]
    role = () if location.role is None else (f"role={location.role}",)
    return (
        "constraint",
        "location",
        location.resource,
        "rule",
        f"constraint-id={location.id}",
        *role,
        f"score={location.score}",
        *expression,
    )


def _colocation(colocation: Colocation) -> Argv:
    role = () if colocation.role is None else (colocation.role,)
    with_role = () if colocation.with_role is None else (colocation.with_role,)
    return (
        "constraint",
        "colocation",
        "add",
        *role,
        colocation.resource,
        "with",
        *with_role,
        colocation.with_resource,
        colocation.score,
        f"id={colocation.id}",
    )


def _order(order: Order) -> Argv:
    argv = [
        "constraint",
        "order",
        order.first_action,
        order.first,
        "then",
        order.then_action,
        order.then,
        f"kind={order.kind}",
    ]
    if not order.symmetrical:
        argv.append("symmetrical=false")
    argv.append(f"id={order.id}")
    return tuple(argv)
