"""``crm_mon --output-as=xml --include=attributes,failures``, parsed into a ClusterState.

The elements read are those of Pacemaker's crm_mon API schema (2.1.5:
``/usr/share/pacemaker/api/crm_mon-2.25.rng``): ``summary/current_dc``,
``nodes/node``, every ``resource`` under ``resources`` (in clones or not),
``node_attributes/node/attribute`` and ``failures/failure``.  Whatever else
the document holds is ignored; a document that is not crm_mon's, or that
says the query failed, is a :class:`CrmMonError` with the reason, never a
traceback.  The parser resolves no entity and fetches nothing.
"""

from __future__ import annotations

from lxml import etree

from ganesha_agents.status.model import ClusterState, FailedAction, Instance, NodeRecord

#: More than any real cluster's crm_mon output (a 32-node one is well under 1 MiB).
MAX_BYTES = 32 * 1024 * 1024
ROOTS = ("pacemaker-result", "crm_mon")


class CrmMonError(ValueError):
    """crm_mon's output cannot be used; the message says why."""


def parse(document: bytes | str) -> ClusterState:
    """The cluster state in ``document``, or CrmMonError."""
    data = document.encode() if isinstance(document, str) else document
    if len(data) > MAX_BYTES:
        raise CrmMonError(f"crm_mon printed {len(data)} bytes, more than {MAX_BYTES}")
    if not data.strip():
        raise CrmMonError("crm_mon printed nothing")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise CrmMonError(f"crm_mon's output is not XML: {error}") from None
    if root is None or root.tag not in ROOTS:
        tag = getattr(root, "tag", None)
        raise CrmMonError(f"not crm_mon's XML: the document is <{tag}>, not <pacemaker-result>")
    _check_result(root)
    if root.find("nodes") is None:
        raise CrmMonError("crm_mon's XML lists no nodes")
    return ClusterState(
        dc=_dc(root),
        quorate=_quorate(root),
        nodes=tuple(_node(n) for n in root.iterfind("nodes/node") if n.get("name")),
        instances=tuple(_instances(root)),
        attributes=_attributes(root),
        failures=tuple(_failure(f) for f in root.iterfind("failures/failure")),
    )


def _text(element: etree._Element, name: str) -> str:
    value = element.get(name)
    return "" if value is None else str(value)


def _flag(element: etree._Element, name: str) -> bool:
    return element.get(name) in ("true", "1")


def _check_result(root: etree._Element) -> None:
    status = root.find("status")
    if status is None:
        return
    code = _text(status, "code")
    if code not in ("", "0"):
        message = _text(status, "message") or "no message"
        errors = [" ".join((e.text or "").split()) for e in status.iter("error")]
        detail = "; ".join(e for e in errors if e)
        raise CrmMonError(
            f"crm_mon reported failure {code} ({message})" + (f": {detail}" if detail else "")
        )


def _dc(root: etree._Element) -> str | None:
    element = root.find("summary/current_dc")
    if element is None or not _flag(element, "present"):
        return None
    return _text(element, "name") or None


def _quorate(root: etree._Element) -> bool:
    element = root.find("summary/current_dc")
    return element is not None and _flag(element, "present") and _flag(element, "with_quorum")


def _node(element: etree._Element) -> NodeRecord:
    return NodeRecord(
        name=_text(element, "name"),
        online=_flag(element, "online"),
        standby=_flag(element, "standby"),
        maintenance=_flag(element, "maintenance"),
        pending=_flag(element, "pending"),
        unclean=_flag(element, "unclean"),
        shutdown=_flag(element, "shutdown"),
    )


def _instances(root: etree._Element) -> list[Instance]:
    resources = root.find("resources")
    if resources is None:
        return []
    found = []
    for element in resources.iter("resource"):
        resource = _text(element, "id")
        if not resource:
            continue
        found.append(
            Instance(
                resource=resource,
                agent=_text(element, "resource_agent"),
                role=_text(element, "role") or "Unknown",
                failed=_flag(element, "failed"),
                nodes=tuple(name for n in element.iterfind("node") if (name := _text(n, "name"))),
                clone=_clone_of(element),
            )
        )
    return found


def _clone_of(element: etree._Element) -> str | None:
    """The clone the resource is an instance of (directly, or through a group)."""
    parent = element.getparent()
    while parent is not None and parent.tag != "resources":
        if parent.tag == "clone":
            return _text(parent, "id") or None
        parent = parent.getparent()
    return None


def _attributes(root: etree._Element) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for node in root.iterfind("node_attributes/node"):
        name = _text(node, "name")
        if not name:
            continue
        values = found.setdefault(name, {})
        for attribute in node.iterfind("attribute"):
            key = _text(attribute, "name")
            if key:
                values[key] = _text(attribute, "value")
    return found


def _failure(element: etree._Element) -> FailedAction:
    code = _text(element, "exitcode")
    return FailedAction(
        operation=_text(element, "op_key") or _text(element, "id") or "(unnamed operation)",
        node=_text(element, "node"),
        exit_status=_text(element, "exitstatus"),
        exit_reason=_text(element, "exitreason"),
        exit_code=int(code) if code.isdecimal() and len(code) < 10 else None,
        last_change=_text(element, "last-rc-change"),
    )
