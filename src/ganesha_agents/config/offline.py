"""Pacemaker's scheduler without a cluster: a CIB file, cibadmin, crm_attribute, crm_simulate.

What works on Pacemaker 2.1.5, found by trying:

- ``CIB_file=FILE`` makes ``cibadmin``, ``crm_attribute`` and ``crm_resource``
  edit a file as they would the live CIB, so the configuration is loaded
  exactly the way the docs tell people to, ``crm_attribute -N NODE -n NAME
  -l reboot -v 1`` / ``-D`` writes transient attributes into the status
  section (the nodes need a ``node_state``, which :class:`OfflineCluster`
  writes), and ``crm_resource --move`` / ``--clear`` write and remove their
  ``cli-prefer-`` constraints;
- ``crm_simulate -x FILE -S -O NEXT`` runs ONE transition as if every action
  succeeded (``-F OP@NODE=RC`` fails one) and saves the resulting CIB, so a
  scenario is a chain of files; ``-I`` saves the scheduler's input with the
  injected events (``--node-fail``) applied; ``--run`` only schedules;
- ``--output-as=xml`` gives the actions and the resulting placement; ``-G``
  the transition graph, whose synapse inputs are the proof of ordering, and
  whose notification actions carry the ``notify_*`` variables the agents get;
- ``-t`` sets the scheduler's clock, but simulated operations are stamped
  with the real time, and a simulated failure sets no fail-count: the
  controller's bookkeeping (INFINITY for a failed start, 1 more for any other
  failure) is written by :meth:`OfflineCluster.record_failure`;
- crm_simulate records every simulated notification in the resource history
  (``RSC_post_notify_start_0`` ...), which a cluster's controller never does
  (2.1.5: ``controld_action_is_recordable``) and the scheduler ignores
  (``unpack_rsc_op``: "safe to ignore these").  With a notification per
  instance, node and operation they are most of the file and most of the
  time crm_simulate spends rewriting it, so :meth:`OfflineCluster.step`
  drops them after each transition;
- external fencing (``stonith_admin --reboot`` from outside Pacemaker's own
  decisions): the controller erases the node's resource history and
  transient attributes and marks it down, which :meth:`OfflineCluster.
  fence_externally` writes, so the scheduler sees a node with nothing on it.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
from lxml import etree

from ganesha_agents.config.cib import LOAD_COMMAND
from ganesha_agents.config.model import check_id

TIMEOUT = 120
FENCE_ID = "fence"
# Sticky, so that it does not wander between nodes as other resources move.
FENCE_DEVICE = (
    '<primitive id="fence" class="stonith" type="fence_dummy">'
    '<meta_attributes id="fence-meta_attributes">'
    '<nvpair id="fence-meta_attributes-resource-stickiness" name="resource-stickiness" '
    'value="100"/></meta_attributes></primitive>'
)


class SimulationError(RuntimeError):
    """A Pacemaker tool failed, or the CIB file does not hold what was asked for."""


def run(argv: Sequence[str], cib: Path | None = None) -> str:
    """Run a Pacemaker tool (on ``cib`` when given); its stdout, or SimulationError."""
    env = dict(os.environ)
    if cib is not None:
        env["CIB_file"] = str(cib)
    try:
        done = subprocess.run(
            list(argv), env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except FileNotFoundError as error:
        raise SimulationError(
            f"{argv[0]} not found: Pacemaker's command-line tools are needed "
            "(Debian: pacemaker-cli-utils)"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise SimulationError(f"{list(argv)} took more than {TIMEOUT}s") from error
    if done.returncode != 0:
        raise SimulationError(f"{list(argv)} exited {done.returncode}: {done.stderr}{done.stdout}")
    return done.stdout


@attrs.frozen
class Action:
    """One action of a transition graph (a resource operation, a fencing or a pseudo-event)."""

    id: str
    key: str
    kind: str
    operation: str
    resource: str | None
    node: str | None
    attributes: dict[str, str]

    @property
    def base(self) -> str | None:
        """The resource without its clone instance number (``nfs-mon`` for ``nfs-mon:2``)."""
        return None if self.resource is None else self.resource.split(":")[0]

    def notify(self, name: str) -> str | None:
        """A notification variable, as the agent sees it (``promote_uname`` ...)."""
        return self.attributes.get(f"CRM_meta_notify_{name}")


class Transition:
    """What one ``crm_simulate -S`` scheduled, in which order, and where things ended."""

    def __init__(
        self,
        result: etree._Element,
        graph: etree._Element,
        elapsed: float = 0.0,
        scheduler_input: Path | None = None,
    ) -> None:
        self.result = result
        self.graph = graph
        self.elapsed = elapsed
        self.scheduler_input = scheduler_input
        self._actions: dict[str, Action] = {}
        self._inputs: dict[str, set[str]] = {}
        for synapse in graph.iter("synapse"):
            action_set = synapse.find("action_set")
            ids = [] if action_set is None else [self._add(element) for element in action_set]
            inputs = {trigger.get("id", "") for trigger in synapse.iterfind("inputs/trigger/*")}
            for action_id in ids:
                self._inputs[action_id] = inputs

    def _add(self, element: etree._Element) -> str:
        primitive = element.find("primitive")
        attributes = element.find("attributes")
        action = Action(
            id=element.get("id", ""),
            key=element.get("operation_key", ""),
            kind=str(element.tag),
            operation=element.get("operation", ""),
            resource=None if primitive is None else primitive.get("id"),
            node=element.get("on_node"),
            attributes={}
            if attributes is None
            else {str(k): str(v) for k, v in attributes.items()},
        )
        self._actions[action.id] = action
        return action.id

    @property
    def actions(self) -> list[Action]:
        return list(self._actions.values())

    def executed(self) -> list[Action]:
        """Actions that run somewhere: resource operations and fencing, not pseudo-events."""
        return [a for a in self.actions if a.kind != "pseudo_event"]

    def find(self, resource: str, operation: str, node: str | None = None) -> list[Action]:
        """The actions ``operation`` of ``resource`` (any clone instance), on ``node`` if given."""
        return [
            a
            for a in self._actions.values()
            if a.base == resource and a.operation == operation and (node is None or a.node == node)
        ]

    def changes(self) -> list[Action]:
        """Actions that change something (not probes, recurring monitors or pseudo-actions)."""
        return [a for a in self.actions if a.resource is not None and a.operation != "monitor"]

    def notifications(self, when: str, operation: str, resource: str | None = None) -> list[Action]:
        """The ``when`` (pre/post) ``operation`` notifications (of ``resource`` if given)."""
        return [
            a
            for a in self.actions
            if a.operation == "notify"
            and a.resource is not None
            and (resource is None or a.base == resource)
            and a.notify("type") == when
            and a.notify("operation") == operation
        ]

    def notified(self, when: str, operation: str) -> dict[str, dict[str, str]]:
        """Node -> notify attributes, for the ``when`` (pre/post) ``operation`` notifications."""
        return {a.node or "": a.attributes for a in self.notifications(when, operation)}

    def waits_for(self, action: Action, key: str) -> bool:
        """Whether ``action`` runs only after the action ``key`` (directly or through others)."""
        seen: set[str] = set()
        todo = list(self._inputs.get(action.id, ()))
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            found = self._actions.get(current)
            if found is not None and found.key == key:
                return True
            todo.extend(self._inputs.get(current, ()))
        return False

    def waits_for_action(self, action: Action, first: Action) -> bool:
        """Whether ``action`` runs only after ``first`` itself (directly or through others)."""
        seen: set[str] = set()
        todo = list(self._inputs.get(action.id, ()))
        while todo:
            current = todo.pop()
            if current == first.id:
                return True
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self._inputs.get(current, ()))
        return False

    @property
    def recheck_by(self) -> int | None:
        value = self.graph.get("recheck-by")
        return None if value is None else int(value)

    def placement(self, resource: str) -> set[str]:
        """Nodes where ``resource`` (any of its clone instances) is active after the transition."""
        return self._after(resource, None)

    def promoted(self, resource: str) -> set[str]:
        """Nodes where ``resource``'s instances are promoted after the transition."""
        return self._after(resource, "Promoted")

    def status(self, resource: str) -> etree._Element | None:
        """The ``crm_simulate`` status element that says where ``resource`` ended."""
        return self.result.find("revised_cluster_status")

    def _after(self, resource: str, role: str | None) -> set[str]:
        status = self.status(resource)
        if status is None:
            return set()
        return {
            node.get("name", "")
            for element in status.iterfind("resources//resource")
            if element.get("id") == resource
            and element.get("active") == "true"
            and (role is None or element.get("role") == role)
            for node in element.iterfind("node")
        }


class OfflineCluster:
    """A cluster's CIB in a file, with N online nodes and no daemon anywhere."""

    def __init__(
        self,
        directory: Path,
        nodes: Sequence[str],
        attributes: Mapping[str, str] | None = None,
        *,
        empty: bool = False,
    ) -> None:
        """A new CIB file in ``directory``: ``nodes`` online, with ``attributes`` on each.

        ``empty`` skips writing it, for :meth:`copy`.
        """
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.nodes = tuple(nodes)
        self.path = directory / "cib.xml"
        self.steps = 0
        if not empty:
            skeleton = self._skeleton(attributes or {})
            self.path.write_bytes(etree.tostring(skeleton, xml_declaration=False))

    def copy(self, directory: Path) -> OfflineCluster:
        """The same cluster in another directory, to try something else from here."""
        other = OfflineCluster(directory, self.nodes, empty=True)
        shutil.copyfile(self.path, other.path)
        return other

    def _skeleton(self, attributes: Mapping[str, str]) -> etree._Element:
        cib = etree.Element(
            "cib",
            {
                "validate-with": "pacemaker-3.9",
                "crm_feature_set": "3.16.1",
                "admin_epoch": "0",
                "epoch": "1",
                "num_updates": "0",
                "have-quorum": "1",
            },
        )
        configuration = etree.SubElement(cib, "configuration")
        crm_config = etree.SubElement(configuration, "crm_config")
        options = etree.SubElement(crm_config, "cluster_property_set", id="cib-bootstrap-options")
        etree.SubElement(
            options,
            "nvpair",
            id="cib-bootstrap-options-stonith-enabled",
            name="stonith-enabled",
            value="false",
        )
        nodes = etree.SubElement(configuration, "nodes")
        for number, name in enumerate(self.nodes, start=1):
            etree.SubElement(nodes, "node", id=str(number), uname=name)
        etree.SubElement(configuration, "resources")
        etree.SubElement(configuration, "constraints")
        status = etree.SubElement(cib, "status")
        for number, name in enumerate(self.nodes, start=1):
            state = etree.SubElement(status, "node_state", self._online(number, name))
            if attributes:
                # What crm_attribute -l reboot writes, without one CIB update per value.
                transient = etree.SubElement(state, "transient_attributes", id=str(number))
                values = etree.SubElement(transient, "instance_attributes", id=f"status-{number}")
                for key, value in attributes.items():
                    etree.SubElement(
                        values, "nvpair", id=f"status-{number}-{key}", name=key, value=value
                    )
        return cib

    def adopt_history(self, other: OfflineCluster) -> None:
        """Copy every node's resource history from ``other`` (same nodes) into this file.

        The histories of resources that no constraint links are independent,
        so a cluster's state can be put together from clusters that each ran
        some of its resources: far fewer simulated actions on far smaller
        files than one simulated start of everything.
        """
        mine = etree.parse(str(self.path))
        states = {state.get("uname"): state for state in mine.iter("node_state")}
        for theirs in etree.parse(str(other.path)).iter("node_state"):
            source = theirs.find("lrm/lrm_resources")
            if source is None:
                continue
            state = states.get(theirs.get("uname"))
            if state is None:
                raise SimulationError(f"no node_state for {theirs.get('uname')}")
            lrm = state.find("lrm")
            if lrm is None:
                lrm = etree.SubElement(state, "lrm", id=state.get("id", ""))
            target = lrm.find("lrm_resources")
            if target is None:
                target = etree.SubElement(lrm, "lrm_resources")
            for resource in source:
                target.append(copy.deepcopy(resource))
        _drop_notifications_from(mine)
        mine.write(str(self.path))

    @staticmethod
    def _online(number: int, name: str) -> dict[str, str]:
        return {
            "id": str(number),
            "uname": name,
            "in_ccm": "true",
            "crmd": "online",
            "join": "member",
            "expected": "member",
        }

    def node_id(self, node: str) -> int:
        return self.nodes.index(node) + 1

    def load(self, configuration: str) -> None:
        """Load a ``<configuration>`` document the documented way (cibadmin --modify)."""
        document = self.directory / f"load-{self.steps}.xml"
        document.write_text(configuration)
        run([*LOAD_COMMAND, str(document)], self.path)

    def verify(self) -> str:
        """What ``crm_verify -V`` says about the file (empty when all is well)."""
        done = subprocess.run(
            ["crm_verify", "--xml-file", str(self.path), "-V"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        return (
            f"rc={done.returncode}\n{done.stdout}{done.stderr}"
            if done.returncode
            else (done.stdout + done.stderr)
        )

    def set(self, node: str, name: str, value: str) -> None:
        run(["crm_attribute", "-N", node, "-n", name, "-l", "reboot", "-v", value], self.path)

    def delete(self, node: str, name: str) -> None:
        run(["crm_attribute", "-N", node, "-n", name, "-l", "reboot", "-D"], self.path)

    def everywhere(self, *names: str) -> None:
        for node in self.nodes:
            for name in names:
                self.set(node, name, "1")

    def write_transient(self, node: str, name: str, value: str | None) -> None:
        """Set (or, with None, delete) a transient attribute by editing the file.

        Writes what ``crm_attribute -l reboot`` writes, without a process and a
        CIB update each: for the many small clusters of :mod:`.split`.
        """
        tree = etree.parse(str(self.path))
        state = next((s for s in tree.iter("node_state") if s.get("uname") == node), None)
        if state is None:
            raise SimulationError(f"no node_state for {node}")
        number = state.get("id", "")
        transient = state.find("transient_attributes")
        if transient is None:
            transient = etree.SubElement(state, "transient_attributes", id=number)
        values = transient.find("instance_attributes")
        if values is None:
            values = etree.SubElement(transient, "instance_attributes", id=f"status-{number}")
        for nvpair in [nv for nv in values if nv.get("name") == name]:
            values.remove(nvpair)
        if value is not None:
            etree.SubElement(values, "nvpair", id=f"status-{number}-{name}", name=name, value=value)
        tree.write(str(self.path))

    def attributes(self, name: str) -> dict[str, str]:
        """Node -> value of the transient attribute ``name``, for the nodes that have it."""
        found: dict[str, str] = {}
        for state in etree.parse(str(self.path)).iter("node_state"):
            for nvpair in state.iterfind("transient_attributes/instance_attributes/nvpair"):
                if nvpair.get("name") == name:
                    found[state.get("uname", "")] = nvpair.get("value", "")
        return found

    def attribute(self, node: str, name: str) -> str | None:
        """A transient attribute of ``node`` in the current CIB (None when not set)."""
        values = self.xpath(
            "//node_state[@uname=$node]/transient_attributes//nvpair[@name=$name]",
            node=node,
            name=name,
        )
        return values[0].get("value") if values else None

    def online(self) -> frozenset[str]:
        """Nodes that are members and not in standby, in the current CIB."""
        standby = {
            element.get("uname", "")
            for element in self.xpath("//nodes/node[.//nvpair[@name='standby'][@value='on']]")
        }
        members = {
            element.get("uname", "")
            for element in self.xpath("//node_state[@in_ccm='true'][@crmd='online']")
        }
        return frozenset(members - standby)

    def step(self, *options: str) -> Transition:
        """Run one transition; the file then holds the cluster after it."""
        self.steps += 1
        after = self.directory / f"step-{self.steps}.xml"
        graph = self.directory / f"graph-{self.steps}.xml"
        scheduler_input = self.directory / f"input-{self.steps}.xml"
        started = time.monotonic()
        output = run(
            [
                "crm_simulate",
                "--xml-file",
                str(self.path),
                "--simulate",
                "--save-input",
                str(scheduler_input),
                "--save-output",
                str(after),
                "--save-graph",
                str(graph),
                "--output-as=xml",
                *options,
            ]
        )
        elapsed = time.monotonic() - started
        _drop_notifications(after)
        os.replace(after, self.path)
        return Transition(
            etree.fromstring(output.encode()),
            etree.parse(str(graph)).getroot(),
            elapsed,
            scheduler_input,
        )

    def schedule(self, *options: str) -> Transition:
        """What the scheduler would do now (``crm_simulate --run``); the file is left as it is.

        ``elapsed`` is then the scheduler's wall time for this CIB, process
        start and parsing included, with nothing simulated.
        """
        self.steps += 1
        graph = self.directory / f"graph-{self.steps}.xml"
        scheduler_input = self.directory / f"input-{self.steps}.xml"
        started = time.monotonic()
        output = run(
            [
                "crm_simulate",
                "--xml-file",
                str(self.path),
                "--run",
                "--save-input",
                str(scheduler_input),
                "--save-graph",
                str(graph),
                "--output-as=xml",
                *options,
            ]
        )
        elapsed = time.monotonic() - started
        return Transition(
            etree.fromstring(output.encode()),
            etree.parse(str(graph)).getroot(),
            elapsed,
            scheduler_input,
        )

    def settle(self, limit: int = 5) -> Transition:
        """Run transitions until one changes nothing; the last one that did."""
        last = self.step()
        for _ in range(limit):
            following = self.step()
            if not following.changes():
                return last
            last = following
        raise SimulationError(f"no stable state after {limit} transitions")

    def failed_at(self, resource: str, node: str) -> int:
        """When the last failure of ``resource`` on ``node`` was recorded (epoch seconds)."""
        ops = self.xpath(
            "//node_state[@uname=$node]//lrm_rsc_op[@id=$op]",
            node=node,
            op=f"{resource}_last_failure_0",
        )
        if not ops:
            raise SimulationError(f"no failure of {resource} on {node}")
        return int(ops[0].get("last-rc-change", "0"))

    def record_failure(self, resource: str, node: str, operation: str, count: str = "1") -> int:
        """Write what the controller writes after a failed operation: fail-count, last-failure.

        ``count`` is INFINITY for a failed start (start-failure-is-fatal), 1 for
        the others.  Returns when the failure happened.
        """
        when = self.failed_at(resource, node)
        self.set(node, f"fail-count-{resource}#{operation}_0", count)
        self.set(node, f"last-failure-{resource}#{operation}_0", str(when))
        return when

    def record_start_failure(self, resource: str, node: str) -> int:
        """A failed start: fail-count INFINITY."""
        return self.record_failure(resource, node, "start", "INFINITY")

    def add(self, section: str, xml: str) -> None:
        """Add one element to a configuration section (``cibadmin --create``)."""
        run(["cibadmin", "--create", "--scope", section, "--xml-text", xml], self.path)

    def modify(self, xml: str) -> None:
        """Merge ``xml`` into the element of the same name and id (``cibadmin --modify``)."""
        run(["cibadmin", "--modify", "--xml-text", xml], self.path)

    def remove(self, xml: str) -> None:
        """Delete the element ``xml`` names (``cibadmin --delete``)."""
        run(["cibadmin", "--delete", "--xml-text", xml], self.path)

    def remove_all(self, xpath: str) -> None:
        """Delete every element ``xpath`` selects, in one update (``cibadmin --delete-all``)."""
        run(["cibadmin", "--delete-all", "--force", "--xpath", xpath], self.path)

    def erase_history(self, resource: str) -> None:
        """What the controller does for a ``delete`` action: the resource's history goes.

        crm_simulate shows the action but keeps the history, so the scheduler
        would ask again and again for an orphan that a cluster forgets once.
        """
        run(
            [
                "cibadmin",
                "--delete-all",
                "--force",
                "--xpath",
                f"//status//lrm_resource[@id='{check_id(resource)}']",
            ],
            self.path,
        )

    def upgrade(self) -> None:
        """Move the CIB to the newest schema Pacemaker knows (``cibadmin --upgrade --force``)."""
        run(["cibadmin", "--upgrade", "--force"], self.path)

    def set_property(self, name: str, value: str) -> None:
        run(["crm_attribute", "--type", "crm_config", "-n", name, "-v", value], self.path)

    def add_fencing(self) -> None:
        """A fence device and ``stonith-enabled=true``: lost nodes are fenced by the cluster."""
        self.add("resources", FENCE_DEVICE)
        self.set_property("stonith-enabled", "true")

    def fence_externally(self, node: str) -> None:
        """What the controller writes when ``node`` was fenced from outside (stonith_admin).

        Its ``node_state`` is replaced by a down one: no resource history and
        no transient attributes, so the scheduler finds nothing to demote or
        stop there.
        """
        number = self.node_id(node)
        self.remove(f'<node_state id="{number}"/>')
        state = etree.Element(
            "node_state",
            id=str(number),
            uname=node,
            in_ccm="false",
            crmd="offline",
            join="down",
            expected="down",
        )
        self.add_status(etree.tostring(state, encoding="unicode"))

    def add_status(self, xml: str) -> None:
        run(["cibadmin", "--create", "--scope", "status", "--xml-text", xml], self.path)

    def move(self, resource: str, node: str) -> None:
        """``crm_resource --move``: a ``cli-prefer-`` constraint for ``node``."""
        run(["crm_resource", "--move", "--resource", resource, "--node", node], self.path)

    def clear(self, resource: str) -> None:
        """``crm_resource --clear``: the move's constraint is gone."""
        run(["crm_resource", "--clear", "--resource", resource], self.path)

    def standby(self, node: str, on: bool = True) -> None:
        """Put ``node`` in standby (or take it out), as ``pcs node standby`` does."""
        value = "on" if on else "off"
        run(["crm_attribute", "--node", node, "--name", "standby", "--update", value], self.path)

    def xpath(self, path: str, **variables: str) -> list[etree._Element]:
        """Elements of the current CIB (``$name`` in ``path`` is ``variables[name]``)."""
        found = etree.XPath(path)(etree.parse(str(self.path)), **variables)
        if not isinstance(found, list):
            raise SimulationError(f"{path} selects no elements")
        return [e for e in found if isinstance(e, etree._Element)]


def _drop_notifications_from(cib: etree._ElementTree) -> None:
    for op in cib.iterfind(".//lrm_rsc_op[@operation='notify']"):
        parent = op.getparent()
        if parent is not None:
            parent.remove(op)


def _drop_notifications(path: Path) -> None:
    """Remove the notification results crm_simulate recorded and a controller would not."""
    cib = etree.parse(str(path))
    _drop_notifications_from(cib)
    cib.write(str(path))


def iso(epoch: float) -> str:
    """``crm_simulate -t``'s format."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
