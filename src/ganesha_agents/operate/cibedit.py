"""The would-be CIB of each change, computed in memory from the live CIB and the plan.

Every element this package adds or removes is one the plan generates
(:func:`ganesha_agents.config.plan`), found by its id: nothing is selected
by a pattern, so an element of someone else's is never touched.  Before a
change, the live configuration is compared with the plan's:

- setup refuses when an id the plan would create is already in the
  configuration, or an address is already another resource's;
- teardown, add and delete first recover the :class:`ClusterSpec` the live
  configuration was made from (:func:`derive_spec`), and refuse when the
  plan for it differs from what is there (an element edited by hand, a
  missing one), or when a constraint that is not the plan's names one of
  its resources (``crm_resource --move`` leaves ``cli-prefer-`` ones):
  removing a resource under it would leave a dangling reference.

Cluster properties (``--properties``) are set by setup and left alone by the
others: they are the cluster's, and their earlier values are not known.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable, Sequence

import attrs
from lxml import etree

from ganesha_agents.config import ClusterSpec, Layout, NfsdMode, NodeAddress, Timing, cib, plan
from ganesha_agents.config.model import PROMOTED
from ganesha_agents.config.parts import NFSD_DEFAULTS

#: The sections whose children the plan owns, by id.
SECTIONS = ("resources", "constraints")
VIP_SUFFIX = "-cluster_ip-1"
AGENT_TYPES = {
    "takeover": "ganesha_takeover",
    "grace": "ganesha_grace",
    "mon": "ganesha_mon",
    "nfsd": "ganesha_nfsd",
}
REFERENCES = ("rsc", "with-rsc", "first", "then")


class Refused(Exception):
    """The change cannot be made safely; ``reasons`` say what is in the way and what to do."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = tuple(reasons)


class NotConfigured(Refused):
    """No NFS-Ganesha HA configuration (no ganesha_mon clone) is in the CIB."""


# --- reading the CIB ---------------------------------------------------------------------


def parse(text: str | bytes) -> etree._Element:
    """A ``<cib>`` document, as ``cibadmin --query`` prints it."""
    data = text.encode() if isinstance(text, str) else text
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise Refused([f"the CIB is not XML: {error}"]) from None
    if root.tag != "cib" or root.find("configuration") is None:
        raise Refused(["the CIB has no <cib><configuration> element"])
    return root


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=False) + b"\n"


def _section(root: etree._Element, name: str) -> etree._Element:
    configuration = root.find("configuration")
    assert configuration is not None  # parse() checked
    section = configuration.find(name)
    if section is None:
        section = etree.SubElement(configuration, name)
    return section


def _config_ids(root: etree._Element) -> dict[str, etree._Element]:
    configuration = root.find("configuration")
    found: dict[str, etree._Element] = {}
    if configuration is None:
        return found
    for element in configuration.iter():
        if isinstance(element.tag, str) and element.get("id") is not None:
            found.setdefault(element.get("id", ""), element)
    return found


def generated(spec: ClusterSpec) -> etree._Element:
    """The plan's ``<configuration>`` element for ``spec``."""
    return cib.build(plan(spec))


def owned(spec: ClusterSpec) -> dict[str, tuple[str, etree._Element]]:
    """id -> (section, element) of every top-level element the plan generates."""
    document = generated(spec)
    return {
        child.get("id", ""): (name, child)
        for name in SECTIONS
        for section in document.iterfind(name)
        for child in section
        if isinstance(child.tag, str)
    }


def canonical(element: etree._Element) -> tuple[object, ...]:
    """An element without whitespace, comments or attribute order: for comparing."""
    return (
        element.tag,
        tuple(sorted((str(k), str(v)) for k, v in element.attrib.items())),
        tuple(canonical(child) for child in element if isinstance(child.tag, str)),
    )


# --- recovering the spec -----------------------------------------------------------------


def derive_spec(root: etree._Element) -> ClusterSpec:
    """The :class:`ClusterSpec` the live configuration was generated from.

    Read from the elements the plan writes (the agents' parameters, the
    operations, each address's preference scores, which give the node order
    up to a rotation that does not change any score).  Whether it is exactly
    that spec's configuration is :func:`check_matches`' job.
    """
    resources = _section(root, "resources")
    constraints = _section(root, "constraints")
    mon = _primitive_of(resources, AGENT_TYPES["mon"])
    if mon is None:
        raise NotConfigured(
            ["no ganesha_mon clone in the CIB: NFS-Ganesha HA is not configured here"]
        )
    grace = _primitive_of(resources, AGENT_TYPES["grace"])
    takeover = _primitive_of(resources, AGENT_TYPES["takeover"])
    layout = Layout.GLUSTER_37 if grace is not None else Layout.TAKEOVER
    if layout is Layout.TAKEOVER and takeover is None:
        raise Refused(["a ganesha_mon clone but no ganesha_takeover or ganesha_grace resource"])
    vips = [p for p in resources.iterfind("primitive") if p.get("id", "").endswith(VIP_SUFFIX)]
    if not vips:
        raise Refused([f"no virtual IP resource (NODE{VIP_SUFFIX}) in the CIB"])
    addresses = {p.get("id", "")[: -len(VIP_SUFFIX)]: _param(p, "ip") for p in vips}
    first = vips[0].get("id", "")[: -len(VIP_SUFFIX)]
    order = _node_order(constraints, layout, first)
    if sorted(order) != sorted(addresses):
        raise Refused(
            [
                f"the preference scores of {first}'s address name {', '.join(order)}, "
                f"but the addresses are those of {', '.join(addresses)}"
            ]
        )
    mon_params = _params(mon)
    options: dict[str, object] = {
        "layout": layout,
        "provider": mon.get("provider", ""),
        "ganesha_active": mon_params.get("ganesha_active", "ganesha-active"),
        "grace_active": mon_params.get("grace_active", "grace-active"),
        "mon_monitor": _monitor(mon),
        "vip_monitor": _monitor(vips[0]),
    }
    if "grace_delay" in mon_params:
        options["grace_delay"] = _integer(mon_params["grace_delay"], "grace_delay")
    options["vip_agent"] = ":".join(
        part
        for part in (vips[0].get("class"), vips[0].get("provider"), vips[0].get("type"))
        if part
    )
    netmasks = {_param(p, "cidr_netmask") for p in vips}
    hosts = all(_param(p, "cidr_netmask") == str(_ip(_param(p, "ip")).max_prefixlen) for p in vips)
    if not hosts and len(netmasks) == 1:
        options["cidr_netmask"] = _integer(netmasks.pop(), "cidr_netmask")
    nic = _params(vips[0]).get("nic")
    if nic is not None:
        options["nic"] = nic
    nfsd = _primitive_of(resources, AGENT_TYPES["nfsd"])
    if nfsd is not None:
        # The plan writes ganesha_nfsd's parameters only where they differ from its defaults.
        nfsd_params = {**dict(NFSD_DEFAULTS), **_params(nfsd)}
        options["ha_vol_mnt"] = nfsd_params["ha_vol_mnt"]
        options["nfsd_mode"] = nfsd_params["mode"]
    if layout is Layout.TAKEOVER:
        assert takeover is not None
        params = _params(takeover)
        if "ha_vol_mnt" in params:
            options["ha_vol_mnt"] = params["ha_vol_mnt"]
            if nfsd is None:
                options["nfsd_mode"] = NfsdMode.NONE
        if "grace_budget" in params:
            options["grace_budget"] = _integer(params["grace_budget"], "grace_budget")
        options["takeover_monitor"] = _monitor(takeover, role=PROMOTED)
        options["failure_timeout"] = _failure_timeout(takeover)
    else:
        assert grace is not None
        options["grace_monitor"] = _monitor(grace)
        options["failure_timeout"] = _failure_timeout(grace)
    nodes = [NodeAddress(name, addresses[name]) for name in order]
    try:
        return ClusterSpec(nodes=nodes, **options)  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        raise Refused([f"the live configuration cannot be read as a plan: {error}"]) from None


def _primitive_of(resources: etree._Element, agent: str) -> etree._Element | None:
    found = [p for p in resources.iter("primitive") if p.get("type") == agent]
    if len(found) > 1 and agent != AGENT_TYPES["takeover"]:
        ids = ", ".join(p.get("id", "?") for p in found)
        raise Refused([f"more than one {agent} resource ({ids}): not a configuration of ours"])
    return found[0] if found else None


def _params(primitive: etree._Element) -> dict[str, str]:
    return {
        nv.get("name", ""): nv.get("value", "")
        for nv in primitive.iterfind("instance_attributes/nvpair")
    }


def _param(primitive: etree._Element, name: str) -> str:
    value = _params(primitive).get(name)
    if value is None:
        raise Refused([f"{primitive.get('id')} has no {name} parameter"])
    return value


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise Refused([f"{text!r} is not an IP address"]) from None


def _integer(text: str, what: str) -> int:
    value = text.strip().removesuffix("s")
    if not value.isdigit():
        raise Refused([f"{what}={text!r} is not a number of seconds"])
    return int(value)


def _monitor(primitive: etree._Element, role: str | None = None) -> Timing:
    for op in primitive.iterfind("operations/op"):
        if op.get("name") == "monitor" and (role is None or op.get("role") == role):
            interval = _integer(op.get("interval", ""), f"{primitive.get('id')} monitor interval")
            timeout = _integer(op.get("timeout", ""), f"{primitive.get('id')} monitor timeout")
            try:
                return Timing(interval, timeout)
            except ValueError as error:
                raise Refused([str(error)]) from None
    raise Refused([f"{primitive.get('id')} has no monitor operation"])


def _failure_timeout(primitive: etree._Element) -> int:
    for nv in primitive.iterfind("meta_attributes/nvpair"):
        if nv.get("name") == "failure-timeout":
            return _integer(nv.get("value", ""), "failure-timeout")
    return 0


def _node_order(constraints: etree._Element, layout: Layout, home: str) -> list[str]:
    """The node list, starting at ``home``, from the scores of ``home``'s address.

    Home scores highest; the others 1000, 2000, ... in the order they follow
    home in the list (:func:`ganesha_agents.config.parts.preferences`).
    """
    scores: dict[str, int] = {}
    if layout is Layout.TAKEOVER:
        clone = f"{home}-takeover-clone"
        for location in constraints.iterfind("rsc_location"):
            rule = location.find("rule")
            if location.get("rsc") != clone or rule is None or rule.get("role") != PROMOTED:
                continue
            expression = rule.find("expression")
            if expression is not None and expression.get("attribute") == "#uname":
                scores[expression.get("value", "")] = _score(rule.get("score", ""))
    else:
        for location in constraints.iterfind("rsc_location"):
            if location.get("rsc") == f"{home}{VIP_SUFFIX}" and location.get("node"):
                scores[location.get("node", "")] = _score(location.get("score", ""))
    if scores.get(home) is None:
        raise Refused([f"no preference score for {home}'s address at home"])
    return [home, *sorted((n for n in scores if n != home), key=lambda n: scores[n])]


def _score(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Refused([f"score {text!r} is not a number"]) from None


# --- comparing --------------------------------------------------------------------------


def differences(root: etree._Element, spec: ClusterSpec) -> list[str]:
    """How the live configuration differs from the plan for ``spec`` (empty: it is the plan)."""
    live = _config_ids(root)
    found = []
    for element_id, (section, element) in owned(spec).items():
        present = live.get(element_id)
        if present is None:
            found.append(f"{element_id} is missing from <{section}>")
        elif canonical(present) != canonical(element):
            found.append(f"{element_id} differs from what ganesha-agents generates")
    return found


def foreign_references(root: etree._Element, ids: Iterable[str], mine: set[str]) -> list[str]:
    """Constraints outside ``mine`` that name one of the resources ``ids``."""
    wanted = set(ids)
    found = []
    for constraint in _section(root, "constraints"):
        if not isinstance(constraint.tag, str) or constraint.get("id") in mine:
            continue
        named = {constraint.get(key) for key in REFERENCES} | {
            ref.get("id") for ref in constraint.iter("resource_ref")
        }
        hit = sorted(n for n in named & wanted if n)
        if hit:
            cid = constraint.get("id", "?")
            hint = (
                f"crm_resource --clear --resource {hit[0]}"
                if cid.startswith(("cli-prefer-", "cli-ban-"))
                else f"cibadmin --delete --xml-text '<{constraint.tag} id=\"{cid}\"/>'"
            )
            found.append(f"constraint {cid} (not generated) names {', '.join(hit)}: {hint}")
    return found


def _resource_ids(spec: ClusterSpec) -> set[str]:
    """Every resource id of the plan, clone members included."""
    document = generated(spec)
    return {
        element.get("id", "")
        for section in document.iterfind("resources")
        for element in section.iter("primitive", "clone")
    }


# --- the changes -----------------------------------------------------------------------


@attrs.frozen
class Change:
    """A would-be CIB and what it changes, for a person to read."""

    before: etree._Element
    after: etree._Element
    summary: tuple[str, ...]
    spec: ClusterSpec
    #: The node a delete takes out (nothing of the plan may stay there).
    removed_node: str | None = None
    #: Resources of the plan before the change that it removes.
    removed: tuple[str, ...] = ()
    #: setup, teardown, add or delete.
    kind: str = "setup"
    #: Every node of the cluster (nfs-mon runs, and publishes its attributes, on each).
    cluster_nodes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return canonical(self.before) != canonical(self.after)


def setup(live: etree._Element, spec: ClusterSpec) -> Change:
    """The live CIB with the plan's configuration added (refused if anything is in the way)."""
    document = generated(spec)
    existing = _config_ids(live)
    taken = [
        element.get("id", "")
        for name in SECTIONS
        for section in document.iterfind(name)
        for element in section.iter()
        if isinstance(element.tag, str) and element.get("id") in existing
    ]
    reasons = [f"id {element_id} is already in the configuration" for element_id in taken[:10]]
    if len(taken) > 10:
        reasons.append(f"... and {len(taken) - 10} more ids")
    if taken:
        reasons.append(
            "is NFS-Ganesha HA configured already?  ganesha-agents status; "
            "ganesha-agents teardown removes a configuration it made"
        )
    addresses = {str(node.ip): node.name for node in spec.nodes}
    users: dict[str, list[str]] = {}
    for primitive in _section(live, "resources").iter("primitive"):
        ip = _params(primitive).get("ip")
        if ip is not None and ip in addresses:
            users.setdefault(ip, []).append(primitive.get("id", "?"))
    reasons += [
        f"the address {ip} (for {addresses[ip]}) is already in use by {', '.join(ids)}"
        for ip, ids in users.items()
    ]
    node_names = {n.get("uname") for n in _section(live, "nodes").iterfind("node")}
    unknown = [node.name for node in spec.nodes if node.name not in node_names]
    if unknown:
        reasons.append(
            f"not cluster nodes: {', '.join(unknown)} (crm_node -l lists the names; "
            "add a node to the cluster first)"
        )
    if reasons:
        raise Refused(reasons)
    after = copy.deepcopy(live)
    for name in SECTIONS:
        target = _section(after, name)
        for section in document.iterfind(name):
            for child in section:
                target.append(copy.deepcopy(child))
    _set_properties(after, document)
    _bump(after)
    count = len(owned(spec))
    summary = (
        f"add {count} elements: "
        + ", ".join(r.get("id", "") for r in document.iterfind("resources/*")),
    )
    return Change(live, after, summary, spec)


def _set_properties(root: etree._Element, document: etree._Element) -> None:
    for source in document.iterfind("crm_config/cluster_property_set"):
        crm_config = _section(root, "crm_config")
        target = crm_config.find(f"cluster_property_set[@id='{source.get('id')}']")
        if target is None:
            crm_config.append(copy.deepcopy(source))
            continue
        for nvpair in source:
            current = next((nv for nv in target if nv.get("name") == nvpair.get("name")), None)
            if current is None:
                target.append(copy.deepcopy(nvpair))
            else:
                current.set("value", nvpair.get("value", ""))


def _bump(root: etree._Element) -> None:
    """A new configuration epoch: what makes ``cibadmin --patch`` accept the diff."""
    root.set("epoch", str(int(root.get("epoch", "0")) + 1))


def teardown(live: etree._Element) -> Change:
    """The live CIB without any element the plan for its configuration generates."""
    spec = derive_spec(live)
    mine = owned(spec)
    existing = _config_ids(live)
    reasons = [
        f"{element_id} differs from what ganesha-agents generates: remove it by hand "
        "(cibadmin --delete) or restore it"
        for element_id, (_section_name, element) in mine.items()
        if element_id in existing and canonical(existing[element_id]) != canonical(element)
    ]
    reasons += foreign_references(live, _resource_ids(spec), set(mine))
    if reasons:
        raise Refused(reasons)
    after = copy.deepcopy(live)
    present = _remove(after, [element_id for element_id in mine if element_id in existing])
    _bump(after)
    missing = [element_id for element_id in mine if element_id not in existing]
    summary = [f"remove {len(present)} elements: " + ", ".join(present)]
    if missing:
        summary.append(f"already absent: {', '.join(missing)}")
    resources = _primitives(mine[i][1] for i in present)
    nodes = tuple(n.get("uname", "") for n in _section(live, "nodes").iterfind("node"))
    return Change(
        live,
        after,
        tuple(summary),
        spec,
        removed=resources,
        kind="teardown",
        cluster_nodes=tuple(dict.fromkeys((*nodes, *(n.name for n in spec.nodes)))),
    )


def _primitives(elements: Iterable[etree._Element]) -> tuple[str, ...]:
    """The primitive ids in ``elements`` (a clone's member): what crm_simulate reports."""
    return tuple(p.get("id", "") for element in elements for p in element.iter("primitive"))


def _remove(root: etree._Element, ids: Iterable[str]) -> list[str]:
    removed = []
    wanted = set(ids)
    for name in SECTIONS:
        section = _section(root, name)
        for child in list(section):
            if child.get("id") in wanted:
                section.remove(child)
                removed.append(child.get("id", ""))
    return removed


def change_nodes(live: etree._Element, nodes: Sequence[NodeAddress], what: str) -> Change:
    """The live configuration re-planned for ``nodes``, every score recomputed.

    Elements the old plan has and the new one does not are removed, those
    of both are replaced where they differ, new ones are appended: one
    document, so an address never exists without its rules.
    """
    old_spec = derive_spec(live)
    drift = differences(live, old_spec)
    if drift:
        raise Refused(
            [
                *drift,
                "the live configuration is not exactly the one ganesha-agents generates: "
                "add and delete only change a configuration made by setup (or config)",
            ]
        )
    try:
        new_spec = attrs.evolve(old_spec, nodes=tuple(nodes))
    except ValueError as error:
        raise Refused([str(error)]) from None
    old, new = owned(old_spec), owned(new_spec)
    leaving = _resource_ids(old_spec) - _resource_ids(new_spec)
    blocking = foreign_references(live, leaving, set(old))
    if blocking:
        raise Refused(blocking)
    after = copy.deepcopy(live)
    gone = _remove(after, [i for i in old if i not in new])
    replaced, added = [], []
    for element_id, (section_name, element) in new.items():
        section = _section(after, section_name)
        current = section.find(f"*[@id='{element_id}']")
        if current is None:
            section.append(copy.deepcopy(element))
            added.append(element_id)
        elif canonical(current) != canonical(element):
            section.replace(current, copy.deepcopy(element))
            replaced.append(element_id)
    _bump(after)
    summary = [what]
    for verb, ids in (("remove", gone), ("add", added), ("replace", replaced)):
        if ids:
            summary.append(f"{verb} {len(ids)}: {', '.join(ids)}")
    removed = _primitives(old[i][1] for i in gone)
    return Change(live, after, tuple(summary), new_spec, removed=removed)


def add(live: etree._Element, node: NodeAddress) -> Change:
    """``node`` added at the end of the failover order, with its address."""
    spec = derive_spec(live)
    if node.name in {n.name for n in spec.nodes}:
        raise Refused([f"{node.name} is already in the configuration"])
    for primitive in _section(live, "resources").iter("primitive"):
        if _params(primitive).get("ip") == str(node.ip):
            raise Refused([f"the address {node.ip} is already resource {primitive.get('id')}'s"])
    node_names = {n.get("uname") for n in _section(live, "nodes").iterfind("node")}
    if node.name not in node_names:
        raise Refused(
            [
                f"{node.name} is not a node of the cluster (crm_node -l): add it to the "
                "cluster first (pcs cluster node add), then run this again"
            ]
        )
    change = change_nodes(live, (*spec.nodes, node), f"add {node.name} ({node.ip})")
    return attrs.evolve(change, kind="add")


def delete(live: etree._Element, name: str) -> Change:
    """``name`` and its address taken out; the others' scores recomputed without it."""
    spec = derive_spec(live)
    remaining = tuple(n for n in spec.nodes if n.name != name)
    if len(remaining) == len(spec.nodes):
        listed = ", ".join(n.name for n in spec.nodes)
        raise Refused([f"{name} is not in the configuration (its nodes: {listed})"])
    if not remaining:
        raise Refused([f"{name} is the last node: use ganesha-agents teardown"])
    change = change_nodes(live, remaining, f"delete {name}")
    return attrs.evolve(change, removed_node=name, kind="delete")
