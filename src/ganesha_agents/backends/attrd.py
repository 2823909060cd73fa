"""Transient node attributes through Pacemaker's ``attrd_updater``.

Facts about Pacemaker 2.1.5 this module relies on (captured from the real
tool; the unit tests replay them verbatim):

- ``-n NAME -U VALUE [-N NODE]`` sets and ``-D -n NAME [-N NODE]`` deletes;
  both print nothing and exit 0, or print a one-line error on stderr.  A
  delete keeps the name in attrd with an empty value.
- ``-Q`` in the default text format prints ``name="N" host="H" value="V"``
  without escaping anything, so a value holding ``"`` cannot be read back
  reliably.  ``--output-as=xml`` escapes properly and carries the error text
  in ``<errors>``; queries use it, parsed with expat (C, cheap to import).
- A name attrd has never heard of: exit 78 (CRM_EX_CONFIG) and "attribute
  does not exist".  A name known on other nodes but not on the asked one:
  exit 0 with an empty value, exactly as after a delete.
- A hung attrd makes the tool hang with it: only the runner's deadline ends it.
- Non-ASCII text is refused by the tool's option parser (exit 64).

Every argument is its own argv element, so a name or node holding spaces,
quotes, ``;`` or ``$()`` is passed through untouched; no shell is involved.
"""

from __future__ import annotations

from ocfkit.errors import GenericError, OCFError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.log import AgentLog
    from ocfkit.runner import CommandResult, Runner

PROGRAM = "attrd_updater"

NEVER_SET_EXIT = 78
"""What 2.1.5 exits with when attrd has no such attribute at all (CRM_EX_CONFIG)."""

NEVER_SET_TEXT = "attribute does not exist"

_DETAIL_LIMIT = 300


class AttributeStoreError(GenericError):
    """attrd_updater failed or answered something unexpected; the reason says what it said."""


class AttrdAttributeStore:
    """:class:`~ganesha_agents.backends.protocols.AttributeStore` on ``attrd_updater``."""

    def __init__(
        self,
        runner: Runner,
        *,
        log: AgentLog | None = None,
        program: str = PROGRAM,
        timeout: float | None = None,
    ) -> None:
        """``timeout`` caps each call below what is left of the action's deadline."""
        self._runner = runner
        self._log = log
        self._program = program
        self._timeout = timeout

    def set(self, name: str, value: str, *, node: str | None = None) -> None:
        what = f"set {name!r}={value!r}{_on(node)}"
        result = self._run(["-n", name, "-U", value, *self._node_args(name, node, what)], what)
        if not result.ok:
            raise self._error(what, _detail(result, None))

    def delete(self, name: str, *, node: str | None = None) -> None:
        what = f"delete {name!r}{_on(node)}"
        result = self._run(["-D", "-n", name, *self._node_args(name, node, what)], what)
        if not result.ok:
            raise self._error(what, _detail(result, None))

    def query(self, name: str, *, node: str | None = None) -> str | None:
        what = f"query {name!r}{_on(node)}"
        node_args = self._node_args(name, node, what)
        result = self._run(["-Q", "-n", name, *node_args, "--output-as=xml"], what)
        reply = parse_reply(result.stdout)
        if result.ok:
            value = reply.value_of(name, node)
            if value is None:
                raise self._error(what, f"the reply holds no value: {_detail(result, reply)}")
            return value
        if (
            result.returncode == NEVER_SET_EXIT
            and not reply.attributes
            and any(NEVER_SET_TEXT in error for error in reply.errors)
        ):
            return None
        raise self._error(what, _detail(result, reply))

    def _node_args(self, name: str, node: str | None, what: str) -> list[str]:
        """``-N NODE`` when a node is named; empty names would silently mean something else."""
        if not name:
            raise self._error(what, "the attribute name is empty")
        if node is None:
            return []
        if not node:
            raise self._error(what, "the node name is empty")
        return ["-N", node]

    def _run(self, args: list[str], what: str) -> CommandResult:
        try:
            return self._runner.run([self._program, *args], timeout=self._timeout)
        except OCFError as error:
            # Not installed, killed at the deadline, NUL in an argument:
            # the code is right already, only say which operation it hit.
            if self._log is not None:
                self._log.error("could not %s: %s", what, error.reason)
            raise

    def _error(self, what: str, detail: str) -> AttributeStoreError:
        """The error to raise, logged first: a failure is never only an exception."""
        reason = f"{self._program} could not {what}: {detail}"
        if self._log is not None:
            self._log.error("%s", reason)
        return AttributeStoreError(reason)


def _on(node: str | None) -> str:
    return "" if node is None else f" on node {node!r}"


def _detail(result: CommandResult, reply: Reply | None) -> str:
    """The tool's own words: its XML errors and its stderr, else whatever it printed."""
    said = list(reply.errors) if reply is not None else []
    said.append(result.stderr)
    text = " ".join(" ".join(said).split()) or " ".join(result.stdout.split()) or "no message"
    return f"exit {result.returncode}: {text[:_DETAIL_LIMIT]}"


class Reply:
    """What an ``attrd_updater --output-as=xml`` run said."""

    __slots__ = ("attributes", "errors")

    def __init__(self) -> None:
        self.attributes: list[tuple[str, str, str]] = []  # (name, host, value)
        self.errors: list[str] = []

    def value_of(self, name: str, node: str | None) -> str | None:
        for attr_name, host, value in self.attributes:
            if attr_name == name and (node is None or host == node):
                return value
        return None


def parse_reply(text: str) -> Reply:
    """Read the XML reply; anything unparsable leaves an empty :class:`Reply`."""
    from xml.parsers import expat

    reply = Reply()
    if not text.lstrip().startswith("<"):
        return reply
    in_error: list[str] | None = None

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal in_error
        if tag == "attribute":
            reply.attributes.append(
                (attrs.get("name", ""), attrs.get("host", ""), attrs.get("value", ""))
            )
        elif tag == "error":
            in_error = []

    def end(tag: str) -> None:
        nonlocal in_error
        if tag == "error" and in_error is not None:
            reply.errors.append("".join(in_error).strip())
            in_error = None

    def characters(data: str) -> None:
        if in_error is not None:
            in_error.append(data)

    def refuse_doctype(*_: object) -> None:
        # The tool never sends one; a DOCTYPE would only bring entity expansion.
        raise ValueError("unexpected DOCTYPE in attrd_updater output")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse_doctype
    try:
        parser.Parse(text, True)
    except (expat.ExpatError, ValueError):
        return Reply()
    return reply
