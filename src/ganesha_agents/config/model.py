"""A neutral description of cluster configuration, shared by both renderers.

The CIB writer and the pcs writer read the same objects, so the two outputs
cannot drift apart: whatever the plan says, each says it in its own dialect.
Only what this configuration needs is modelled (primitives, clones and
promotable clones, rule and score locations, colocations, orders, cluster
properties), not Pacemaker's whole schema.

Element ids are part of the model, chosen to be the ids pcs itself generates
for the same commands (``R-instance_attributes-NAME``, ``R-monitor-interval-10s``,
``RULE-expr-1`` ...), so a cluster configured either way ends up with the same
CIB, and re-generating gives the same ids.

Roles are spelled as Pacemaker 2.1 and pcs 0.11 spell them (``Promoted``,
``Unpromoted``), which the CIB accepts from schema pacemaker-3.7 on.
"""

from __future__ import annotations

import re

import attrs

# What Pacemaker's schema accepts as an id (an XML NCName, ASCII subset).
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


def check_id(value: str) -> str:
    """``value`` if it can be a CIB element id, else ValueError."""
    if not _ID.match(value):
        raise ValueError(
            f"{value!r} cannot be a CIB id: use letters, digits, '.', '-', '_', "
            "starting with a letter or '_'"
        )
    return value


PROMOTED = "Promoted"
UNPROMOTED = "Unpromoted"
STARTED = "Started"


def seconds(value: int) -> str:
    """Pacemaker's spelling of a duration, as pcs writes it into ids (``10s``)."""
    return f"{value}s"


@attrs.frozen
class Operation:
    """One ``op``: an action with its timeout, an interval for recurring ones.

    ``role`` limits a recurring monitor to instances in that role; two
    monitors of one resource must then differ in interval, which also keeps
    their ids (pcs leaves the role out of them) apart.
    """

    name: str
    timeout: int
    interval: int = 0
    role: str | None = None

    def element_id(self, resource: str) -> str:
        return f"{resource}-{self.name}-interval-{seconds(self.interval)}"


@attrs.frozen
class Primitive:
    """A resource agent instance, addressed as ``standard:provider:type``."""

    id: str = attrs.field(validator=lambda _i, _a, v: check_id(v))
    standard: str
    provider: str | None
    type: str
    params: tuple[tuple[str, str], ...] = ()
    operations: tuple[Operation, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()

    @property
    def agent(self) -> str:
        parts = (self.standard, self.provider, self.type)
        return ":".join(p for p in parts if p)


@attrs.frozen
class Clone:
    """A clone of one primitive; its meta attributes (``notify``) belong to the clone.

    A ``promotable`` clone has the meta attribute ``promotable=true``, written
    first, as ``pcs resource promotable`` writes it; ``meta`` holds the others.
    """

    primitive: Primitive
    meta: tuple[tuple[str, str], ...] = ()
    promotable: bool = False

    @property
    def all_meta(self) -> tuple[tuple[str, str], ...]:
        """Every meta attribute of the clone, ``promotable`` included."""
        return ((("promotable", "true"),) if self.promotable else ()) + self.meta

    @property
    def id(self) -> str:
        # The only clone id pcs can produce on every version without options.
        return f"{self.primitive.id}-clone"


Resource = Primitive | Clone


@attrs.frozen
class Expression:
    """A node-attribute test: ``not_defined NAME``, ``NAME ne VALUE``, ``#uname eq NODE``."""

    attribute: str
    operation: str
    value: str | None = None


@attrs.frozen
class RuleLocation:
    """A location constraint holding one rule; ``expressions`` are joined by ``or``.

    With a ``role`` the rule applies only to instances in that role (on the
    ``rule`` element, where pcs puts it): for ``Promoted``, it decides where the
    promotion goes, not where the instances run.
    """

    id: str = attrs.field(validator=lambda _i, _a, v: check_id(v))
    resource: str
    score: str
    expressions: tuple[Expression, ...]
    role: str | None = None

    @property
    def rule_id(self) -> str:
        return f"{self.id}-rule"

    def expression_ids(self) -> tuple[str, ...]:
        base = f"{self.rule_id}-expr"
        return tuple(base if i == 0 else f"{base}-{i}" for i in range(len(self.expressions)))


@attrs.frozen
class NodePreference:
    """A location constraint with a plain score for one node."""

    resource: str
    node: str
    score: int

    @property
    def id(self) -> str:
        return f"location-{self.resource}-{self.node}-{self.score}"


@attrs.frozen
class Order:
    """``first_action`` of ``first`` before ``then_action`` of ``then``.

    Symmetrical orders also apply the inverse (``then`` stops before ``first``).
    """

    first: str
    then: str
    kind: str = "Mandatory"
    first_action: str = "start"
    then_action: str = "start"
    symmetrical: bool = True

    @property
    def id(self) -> str:
        if (self.first_action, self.then_action) == ("start", "start"):
            return f"order-{self.first}-{self.then}"
        return f"order-{self.first_action}-{self.first}-{self.then_action}-{self.then}"


@attrs.frozen
class Colocation:
    """``resource`` (in ``role``) runs where ``with_resource`` runs (in ``with_role``).

    The id is the one pcs gives ``constraint colocation add``; when one role
    is given pcs writes the other as ``Started``, and so does the CIB writer.
    """

    resource: str
    with_resource: str
    score: str = "INFINITY"
    with_role: str | None = None
    role: str | None = None

    @property
    def id(self) -> str:
        return f"colocation-{self.resource}-{self.with_resource}-{self.score}"


Constraint = RuleLocation | NodePreference | Colocation | Order

PROPERTY_SET = "cib-bootstrap-options"


@attrs.frozen
class Configuration:
    """Everything to load, in the order it is written (which is also a stable order)."""

    resources: tuple[Resource, ...]
    constraints: tuple[Constraint, ...]
    properties: tuple[tuple[str, str], ...] = ()
