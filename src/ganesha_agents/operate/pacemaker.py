"""Pacemaker's tools for one change: read the CIB, diff, simulate, patch it in ONE update.

Every program runs with an argv list and within the command's deadline
(:class:`ocfkit.runner.CommandRunner`).  They honour ``CIB_file``, so the
same code edits a CIB file (the tests) or the live cluster.

The update is ``crm_diff`` between the CIB as read and the would-be CIB
(whose ``epoch`` is one higher), applied with ``cibadmin --patch``.  The
diff carries the version it was computed from, and the CIB manager refuses
it ("Update was older than existing configuration", exit 103) when the CIB
has changed since: nothing is applied, and :func:`commit` reads the CIB
again and recomputes the change.  A diff is applied whole or not at all, so
no failure leaves half a change behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lxml import etree

from ganesha_agents.config.offline import Transition
from ganesha_agents.operate import cibedit
from ganesha_agents.operate.predict import Prediction, placement
from ocfkit.deadline import Deadline
from ocfkit.errors import OCFError
from ocfkit.runner import CommandResult, CommandRunner

#: cibadmin's exit code for a diff computed from an older CIB.
STALE = 103
#: How often a stale update is recomputed before giving up.
ATTEMPTS = 4
#: Transitions crm_simulate runs before calling the cluster unsettled.
SETTLE_LIMIT = 6
TOOL_TIMEOUT = 60.0


class PacemakerError(Exception):
    """A tool failed, or could not be run; nothing was changed by this command."""


class Pacemaker:
    """Runs the tools for one command, within its deadline."""

    def __init__(self, deadline: Deadline, workdir: Path) -> None:
        self.runner = CommandRunner(deadline)
        self.workdir = workdir

    def _run(self, argv: list[str], *, check: bool = True) -> CommandResult:
        try:
            done = self.runner.run(argv, timeout=TOOL_TIMEOUT)
        except OCFError as error:
            raise PacemakerError(f"{argv[0]}: {error}") from None
        if check and not done.ok:
            raise PacemakerError(done.describe())
        return done

    def query(self) -> etree._Element:
        """The whole CIB, as the cluster (or ``CIB_file``) has it now."""
        done = self._run(["cibadmin", "--query"])
        try:
            return cibadmin_output(done.stdout)
        except cibedit.Refused as error:
            raise PacemakerError(f"cibadmin --query: {error}") from None

    def diff(self, before: etree._Element, after: etree._Element) -> str:
        """``crm_diff``'s patch from ``before`` to ``after`` (empty: no difference)."""
        old, new = self.workdir / "before.xml", self.workdir / "after.xml"
        old.write_bytes(cibedit.serialise(before))
        new.write_bytes(cibedit.serialise(after))
        done = self._run(["crm_diff", "--original", str(old), "--new", str(new)], check=False)
        if done.returncode == 0:
            return ""
        if done.returncode == 1:
            return done.stdout
        raise PacemakerError(done.describe())

    def patch(self, diff: str) -> bool:
        """Apply the diff in one update; False when the CIB changed since it was read."""
        path = self.workdir / "patch.xml"
        path.write_text(diff)
        done = self._run(["cibadmin", "--patch", "--xml-file", str(path)], check=False)
        if done.returncode == STALE:
            return False
        if not done.ok:
            raise PacemakerError(f"the CIB refused the update, nothing changed: {done.describe()}")
        return True

    def simulate(self, cib: etree._Element) -> Prediction:
        """Run ``crm_simulate`` on a copy holding ``cib`` until a transition changes nothing."""
        path = self.workdir / "simulated.xml"
        path.write_bytes(cibedit.serialise(cib))
        transitions: list[Transition] = []
        before: dict[str, set[str]] = {}
        for step in range(1, SETTLE_LIMIT + 1):
            graph, after = self.workdir / f"graph-{step}.xml", self.workdir / f"after-{step}.xml"
            done = self._run(
                [
                    "crm_simulate",
                    "--xml-file",
                    str(path),
                    "--simulate",
                    "--save-graph",
                    str(graph),
                    "--save-output",
                    str(after),
                    "--output-as=xml",
                ]
            )
            try:
                result = etree.fromstring(done.stdout.encode())
                transition = Transition(result, etree.parse(str(graph)).getroot())
            except (etree.XMLSyntaxError, OSError) as error:
                raise PacemakerError(f"crm_simulate's output cannot be read: {error}") from None
            if step == 1:
                before = placement(result.find("cluster_status"))
            os.replace(after, path)
            # A removed resource's history is cleaned up ("delete") by the controller
            # once; crm_simulate keeps it and asks again at every transition.
            if not [a for a in transition.changes() if a.operation != "delete"]:
                return Prediction(tuple(transitions), before, True)
            transitions.append(transition)
        return Prediction(tuple(transitions), before, False)

    def delete_attribute(self, node: str, name: str) -> None:
        """A transient node attribute, deleted (``crm_attribute -l reboot -D``)."""
        self._run(
            ["crm_attribute", "--node", node, "--name", name, "--lifetime", "reboot", "--delete"]
        )


def cibadmin_output(text: str) -> etree._Element:
    return cibedit.parse(text)


@contextmanager
def workspace() -> Iterator[Path]:
    """A private directory for the CIB copies (mode 0700), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ganesha-agents-") as directory:
        yield Path(directory)


Compute = Callable[[etree._Element], cibedit.Change]


def commit(tools: Pacemaker, compute: Compute, check: Callable[[cibedit.Change], None]) -> str:
    """Read the CIB, compute and check the change, apply it as one update; the diff applied.

    ``check`` raises to refuse (nothing is applied then).  A CIB that changed
    between the read and the update is read again, and the change computed
    and checked again, up to :data:`ATTEMPTS` times.
    """
    for _attempt in range(ATTEMPTS):
        change = compute(tools.query())
        check(change)
        diff = tools.diff(change.before, change.after)
        if not diff:
            return ""
        if tools.patch(diff):
            return diff
    raise PacemakerError(
        f"the CIB changed under every one of {ATTEMPTS} attempts; nothing was changed: "
        "try again when the cluster is quieter"
    )
