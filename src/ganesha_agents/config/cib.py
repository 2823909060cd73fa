"""The configuration as CIB XML, for ``cibadmin``.

One ``<configuration>`` document holding ``<crm_config>`` (only when cluster
properties are asked for), ``<resources>`` and ``<constraints>``.  Load it
with::

    cibadmin --modify --scope configuration --xml-file ganesha-ha.xml

``--modify`` merges the document into the running configuration by element
name and id, in ONE CIB update: the virtual IPs never exist without the rules
that keep them off nodes without a running ganesha.nfsd, and the nodes,
fencing devices and other resources already there are left alone.  The
alternatives lose something: ``--replace --scope configuration`` would drop
the ``<nodes>`` section and every other resource; ``--create`` per section
takes two updates (resources before their constraints) and cannot add the
cluster properties, whose set already exists.  Re-loading an edited document
updates elements in place, but does not remove any (a node taken out of the
list keeps its virtual IP): remove those with ``cibadmin --delete``.
"""

from __future__ import annotations

from lxml import etree

from ganesha_agents.config.model import (
    PROPERTY_SET,
    STARTED,
    Clone,
    Colocation,
    Configuration,
    NodePreference,
    Order,
    Primitive,
    RuleLocation,
)
from ganesha_agents.config.model import seconds as _seconds

# The documented way to load the document (followed by its path); the tests use it too.
LOAD_COMMAND = ("cibadmin", "--modify", "--scope", "configuration", "--xml-file")


def build(config: Configuration) -> etree._Element:
    """The ``<configuration>`` element."""
    root = etree.Element("configuration")
    if config.properties:
        crm_config = etree.SubElement(root, "crm_config")
        _nvset(crm_config, "cluster_property_set", PROPERTY_SET, config.properties)
    resources = etree.SubElement(root, "resources")
    for resource in config.resources:
        if isinstance(resource, Clone):
            clone = etree.SubElement(resources, "clone", id=resource.id)
            _nvset(clone, "meta_attributes", f"{resource.id}-meta_attributes", resource.all_meta)
            _primitive(clone, resource.primitive)
        else:
            _primitive(resources, resource)
    constraints = etree.SubElement(root, "constraints")
    for constraint in config.constraints:
        if isinstance(constraint, RuleLocation):
            _rule_location(constraints, constraint)
        elif isinstance(constraint, Colocation):
            _colocation(constraints, constraint)
        elif isinstance(constraint, NodePreference):
            etree.SubElement(
                constraints,
                "rsc_location",
                id=constraint.id,
                rsc=constraint.resource,
                node=constraint.node,
                score=str(constraint.score),
            )
        else:
            _order(constraints, constraint)
    return root


def render(config: Configuration) -> str:
    """The document as text: indented, deterministic, ending in a newline."""
    root = build(config)
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode") + "\n"


def _nvset(
    parent: etree._Element, tag: str, set_id: str, pairs: tuple[tuple[str, str], ...]
) -> None:
    if not pairs:
        return
    element = etree.SubElement(parent, tag, id=set_id)
    for name, value in pairs:
        etree.SubElement(element, "nvpair", id=f"{set_id}-{name}", name=name, value=value)


def _primitive(parent: etree._Element, primitive: Primitive) -> None:
    element = etree.SubElement(parent, "primitive", id=primitive.id)
    element.set("class", primitive.standard)
    if primitive.provider:
        element.set("provider", primitive.provider)
    element.set("type", primitive.type)
    _nvset(element, "instance_attributes", f"{primitive.id}-instance_attributes", primitive.params)
    _nvset(element, "meta_attributes", f"{primitive.id}-meta_attributes", primitive.meta)
    if primitive.operations:
        operations = etree.SubElement(element, "operations")
        for op in primitive.operations:
            element = etree.SubElement(
                operations,
                "op",
                id=op.element_id(primitive.id),
                name=op.name,
                interval=_seconds(op.interval),
                timeout=_seconds(op.timeout),
            )
            if op.role is not None:
                element.set("role", op.role)


def _rule_location(parent: etree._Element, location: RuleLocation) -> None:
    element = etree.SubElement(parent, "rsc_location", id=location.id, rsc=location.resource)
    rule = etree.SubElement(element, "rule", id=location.rule_id, score=location.score)
    if location.role is not None:
        rule.set("role", location.role)
    if len(location.expressions) > 1:
        rule.set("boolean-op", "or")
    for expression_id, expression in zip(
        location.expression_ids(), location.expressions, strict=True
    ):
        node = etree.SubElement(
            rule,
            "expression",
            id=expression_id,
            attribute=expression.attribute,
            operation=expression.operation,
        )
        if expression.value is not None:
            node.set("value", expression.value)


def _colocation(parent: etree._Element, colocation: Colocation) -> None:
    element = etree.SubElement(parent, "rsc_colocation", id=colocation.id)
    element.set("rsc", colocation.resource)
    element.set("with-rsc", colocation.with_resource)
    element.set("score", colocation.score)
    if colocation.role is not None or colocation.with_role is not None:
        element.set("rsc-role", colocation.role or STARTED)
        element.set("with-rsc-role", colocation.with_role or STARTED)


def _order(parent: etree._Element, order: Order) -> None:
    element = etree.SubElement(parent, "rsc_order", id=order.id)
    element.set("first", order.first)
    element.set("first-action", order.first_action)
    element.set("then", order.then)
    element.set("then-action", order.then_action)
    element.set("kind", order.kind)
    if not order.symmetrical:
        element.set("symmetrical", "false")
