"""Pacemaker's scheduler without a cluster: a CIB file, crm_attribute and crm_simulate.

What works on Pacemaker 2.1.5, found by trying:

- ``CIB_file=FILE`` makes ``cibadmin`` and ``crm_attribute`` edit a file as
  they would the live CIB, so the configuration is loaded exactly the way
  the docs tell people to, and ``crm_attribute -N NODE -n NAME -l reboot
  -v 1`` / ``-D`` writes transient attributes into the status section (the
  nodes need a ``node_state``, which :class:`OfflineCluster` writes);
- ``crm_simulate -x FILE -S -O NEXT`` runs ONE transition as if every action
  succeeded (``-F OP@NODE=RC`` fails one) and saves the resulting CIB, so a
  scenario is a chain of files;
- ``--output-as=xml`` gives the actions and the resulting placement; ``-G``
  the transition graph, whose synapse inputs are the proof of ordering;
- ``-t`` sets the scheduler's clock, but simulated operations are stamped
  with the real time, and a simulated failure sets no fail-count: the
  controller's bookkeeping (INFINITY for a failed start) is written here.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
from lxml import etree

from ganesha_agents.config.cib import LOAD_COMMAND

TIMEOUT = 60


def run(argv: Sequence[str], cib: Path | None = None) -> str:
    """Run a Pacemaker tool (on ``cib`` when given); its stdout, or AssertionError."""
    env = dict(os.environ)
    if cib is not None:
        env["CIB_file"] = str(cib)
    done = subprocess.run(
        list(argv), env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{argv} exited {done.returncode}: {done.stderr}{done.stdout}")
    return done.stdout


@attrs.frozen
class Action:
    """One action of a transition graph."""

    id: str
    key: str
    operation: str
    resource: str | None
    node: str | None
    attributes: dict[str, str]


class Transition:
    """What one ``crm_simulate -S`` scheduled, in which order, and where things ended."""

    def __init__(self, result: etree._Element, graph: etree._Element) -> None:
        self.result = result
        self.graph = graph
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

    def find(self, resource: str, operation: str, node: str | None = None) -> list[Action]:
        """The actions ``operation`` of ``resource`` (any clone instance), on ``node`` if given."""
        return [
            a
            for a in self._actions.values()
            if a.resource is not None
            and a.resource.split(":")[0] == resource
            and a.operation == operation
            and (node is None or a.node == node)
        ]

    def changes(self) -> list[Action]:
        """Actions that change something (not probes, recurring monitors or pseudo-actions)."""
        return [a for a in self.actions if a.resource is not None and a.operation != "monitor"]

    def notified(self, when: str, operation: str) -> dict[str, dict[str, str]]:
        """Node -> notify attributes, for the ``when`` (pre/post) ``operation`` notifications."""
        return {
            a.node or "": a.attributes
            for a in self.actions
            if a.operation == "notify"
            and a.resource is not None
            and a.attributes.get("CRM_meta_notify_type") == when
            and a.attributes.get("CRM_meta_notify_operation") == operation
        }

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

    @property
    def recheck_by(self) -> int | None:
        value = self.graph.get("recheck-by")
        return None if value is None else int(value)

    def placement(self, resource: str) -> set[str]:
        """Nodes where ``resource`` (any of its clone instances) is active after the transition."""
        return {
            node.get("name", "")
            for element in self.result.iterfind(".//revised_cluster_status/resources//resource")
            if element.get("id") == resource and element.get("active") == "true"
            for node in element.iterfind("node")
        }


class OfflineCluster:
    """A cluster's CIB in a file, with N online nodes and no daemon anywhere."""

    def __init__(self, directory: Path, nodes: Sequence[str]) -> None:
        self.directory = directory
        self.nodes = tuple(nodes)
        self.path = directory / "cib.xml"
        self.steps = 0
        self.path.write_bytes(etree.tostring(self._skeleton(), xml_declaration=False))

    def _skeleton(self) -> etree._Element:
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
            etree.SubElement(
                status,
                "node_state",
                id=str(number),
                uname=name,
                in_ccm="true",
                crmd="online",
                join="member",
                expected="member",
            )
        return cib

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

    def step(self, *options: str) -> Transition:
        """Run one transition; the file then holds the cluster after it."""
        self.steps += 1
        after = self.directory / f"step-{self.steps}.xml"
        graph = self.directory / f"graph-{self.steps}.xml"
        output = run(
            [
                "crm_simulate",
                "--xml-file",
                str(self.path),
                "--simulate",
                "--save-output",
                str(after),
                "--save-graph",
                str(graph),
                "--output-as=xml",
                *options,
            ]
        )
        os.replace(after, self.path)
        return Transition(etree.fromstring(output.encode()), etree.parse(str(graph)).getroot())

    def settle(self, limit: int = 5) -> Transition:
        """Run transitions until one changes nothing; the last one that did."""
        last = self.step()
        for _ in range(limit):
            following = self.step()
            if not following.changes():
                return last
            last = following
        raise AssertionError(f"no stable state after {limit} transitions")

    def failed_at(self, resource: str, node: str) -> int:
        """When the last failure of ``resource`` on ``node`` was recorded (epoch seconds)."""
        cib = etree.parse(str(self.path))
        ops = cib.xpath(
            "//node_state[@uname=$node]//lrm_rsc_op[@id=$op]",
            node=node,
            op=f"{resource}_last_failure_0",
        )
        assert isinstance(ops, list) and ops, f"no failure of {resource} on {node}"
        element = ops[0]
        assert isinstance(element, etree._Element)
        return int(element.get("last-rc-change", "0"))

    def record_start_failure(self, resource: str, node: str) -> int:
        """Write what the controller writes after a failed start: fail-count INFINITY."""
        when = self.failed_at(resource, node)
        self.set(node, f"fail-count-{resource}#start_0", "INFINITY")
        self.set(node, f"last-failure-{resource}#start_0", str(when))
        return when

    def add(self, section: str, xml: str) -> None:
        """Add one element to a configuration section (``cibadmin --create``)."""
        run(["cibadmin", "--create", "--scope", section, "--xml-text", xml], self.path)

    def modify(self, xml: str) -> None:
        """Merge ``xml`` into the element of the same name and id (``cibadmin --modify``)."""
        run(["cibadmin", "--modify", "--xml-text", xml], self.path)

    def remove(self, xml: str) -> None:
        """Delete the element ``xml`` names (``cibadmin --delete``)."""
        run(["cibadmin", "--delete", "--xml-text", xml], self.path)

    def set_property(self, name: str, value: str) -> None:
        run(["crm_attribute", "--type", "crm_config", "-n", name, "-v", value], self.path)

    def xpath(self, path: str) -> list[etree._Element]:
        """Elements of the current CIB."""
        found = etree.parse(str(self.path)).xpath(path)
        assert isinstance(found, list)
        return [e for e in found if isinstance(e, etree._Element)]


def iso(epoch: float) -> str:
    """``crm_simulate -t``'s format."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
