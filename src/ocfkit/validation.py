"""Checking meta-data against the schemas that matter.

The OCF 1.1 RELAX NG schema, Pacemaker's copy of it, and resource-agents'
1.0 DTD (which ``ocf-tester`` uses).  Used by ``ocfkit check`` and the tests.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import attrs
from lxml import etree

SCHEMAS = {
    "ocf-1.1-rng": "ocf-ra-api-1.1.rng",
    "pacemaker-1.1-rng": "pacemaker-ocf-ra-1.1.rng",
    "ra-api-1-dtd": "ra-api-1.dtd",
}


@attrs.frozen
class SchemaVerdict:
    schema: str
    valid: bool
    errors: tuple[str, ...] = ()


@cache
def _validator(schema: str) -> etree.RelaxNG | etree.DTD:
    path = files("ocfkit.schemas").joinpath(SCHEMAS[schema])
    with path.open("rb") as stream:
        if schema.endswith("dtd"):
            return etree.DTD(stream)
        return etree.RelaxNG(etree.parse(stream))


def validate(document: str | bytes, schema: str) -> SchemaVerdict:
    """Validate one meta-data document against one of :data:`SCHEMAS`."""
    data = document.encode() if isinstance(document, str) else document
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        tree = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        return SchemaVerdict(schema, False, (f"not well-formed XML: {error}",))
    validator = _validator(schema)
    if validator.validate(tree):
        return SchemaVerdict(schema, True)
    errors = tuple(str(validator.error_log).splitlines())
    return SchemaVerdict(schema, False, errors)


def validate_all(document: str | bytes) -> dict[str, SchemaVerdict]:
    return {name: validate(document, name) for name in SCHEMAS}
