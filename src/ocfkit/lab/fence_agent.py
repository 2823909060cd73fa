"""The lab's fence agent: switching a node off kills every process in its namespaces.

pacemaker-fenced runs it as ``/usr/sbin/fence_ocfkit_lab`` (the nodes see
it through an overlay, see :mod:`ocfkit.lab.fencing`) with the request on
stdin as ``key=value`` lines, like any fence agent.  "off" and "reboot"
SIGKILL everything in the target node's network namespace except the
namespace holder: corosync, the Pacemaker daemons, resource agents, the bus
and ganesha, as a power cut would.  They also take the node's link down: a
machine without power does not answer on the network either, while a
namespace whose processes are gone still answers ARP and TCP for every
address on its interface, virtual IPs that the cluster is moving included.
The node's directories survive, as a disk would; :meth:`ocfkit.lab.Lab.boot`
starts the node again.

Fencing is what makes the cluster act on a lost node (stop notifications,
recovery elsewhere), which is why the lab fences for real instead of
disabling it.  Only the standard library and the lab's small modules are
imported: fenced calls the agent for every monitor and request.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ocfkit.lab import processes
from ocfkit.lab.errors import LabError
from ocfkit.lab.layout import NODE_INTERFACE, namespace_prefix, node_names
from ocfkit.lab.state import LabState, StateFile

AGENT = "fence_ocfkit_lab"

METADATA = """\
<?xml version="1.0" ?>
<resource-agent name="fence_ocfkit_lab" shortdesc="Fence agent of the ocfkit lab">
<longdesc>Switches a lab node off by killing every process in its namespaces.</longdesc>
<vendor-url>https://pypi.org/project/ocfkit/</vendor-url>
<parameters>
  <parameter name="action" unique="0" required="1">
    <getopt mixed="-o, --action=[action]"/>
    <content type="string" default="reboot"/>
    <shortdesc lang="en">Fencing action</shortdesc>
  </parameter>
  <parameter name="port" unique="0" required="0">
    <getopt mixed="-n, --plug=[id]"/>
    <content type="string"/>
    <shortdesc lang="en">Node to fence</shortdesc>
  </parameter>
  <parameter name="plug" unique="0" required="0" obsoletes="port">
    <getopt mixed="-n, --plug=[id]"/>
    <content type="string"/>
    <shortdesc lang="en">Node to fence</shortdesc>
  </parameter>
</parameters>
<actions>
  <action name="on" automatic="0"/>
  <action name="off"/>
  <action name="reboot"/>
  <action name="status"/>
  <action name="list"/>
  <action name="monitor"/>
  <action name="metadata"/>
  <action name="validate-all"/>
</actions>
</resource-agent>
"""

_ARGV_OPTIONS = {"-o": "action", "--action": "action", "-n": "port", "--plug": "port"}


def parse(argv: list[str], stdin_text: str) -> dict[str, str]:
    """Options from stdin (``key=value``), then from the command line, which wins."""
    options: dict[str, str] = {}
    for line in stdin_text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            options[key] = value
    args = iter(argv)
    for arg in args:
        name, sep, value = arg.partition("=")
        if name in _ARGV_OPTIONS:
            options[_ARGV_OPTIONS[name]] = value if sep else next(args, "")
    return options


def switch_off(state: LabState, target: str) -> list[processes.ProcessId]:
    """Kill everything in ``target``'s namespaces but the holder; returns survivors."""
    namespace = namespace_prefix(state.workdir) + target
    inode = state.namespaces.get(namespace)
    if inode is None:
        raise LookupError(f"no namespace {namespace} recorded")
    holders = {r.id for r in state.records(target, "holder")}
    victims = [p for p in processes.in_namespaces([inode]) if p not in holders]
    return processes.kill(victims, wait=10.0)


def cut_link(state: LabState, target: str) -> str | None:
    """Take ``target``'s interface down, from inside its network namespace; None or the error.

    The agent runs inside another node, whose private /run has no
    /run/netns: the namespace is entered through the holder's pid instead.
    """
    holder = state.latest(target, "holder")
    if holder is None or not processes.is_alive(holder.id):
        return f"no live namespace holder for {target}"
    argv = ["nsenter", "-t", str(holder.pid), "-n", "--",
            "ip", "link", "set", NODE_INTERFACE, "down"]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return None if done.returncode == 0 else done.stderr.strip() or f"exit {done.returncode}"


def _record_link_down(state_file: Path, target: str) -> None:
    """So that ``boot`` and ``ocfkit lab status`` know the link is down."""
    store = StateFile(state_file, state_file.with_name("lab.lock"))
    with store.update() as state:
        if target not in state.links_down:
            state.links_down.append(target)


def _log(path: Path, text: str) -> None:
    stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
    with path.open("a", encoding="utf-8") as stream:
        stream.write(f"{stamp} {os.uname().nodename} {text}\n")


def main(state_file: str, argv: list[str] | None = None, stdin_text: str | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if stdin_text is None:
        stdin_text = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    options = parse(argv, stdin_text)
    action = options.get("action", "reboot")
    target = options.get("port") or options.get("plug") or options.get("nodename") or ""
    if action == "metadata":
        sys.stdout.write(METADATA)
        return 0
    path = Path(state_file)
    log = path.with_name("fence.log")
    try:
        # What the state says is acted on (processes killed): only from a directory of root's.
        state = StateFile(path, path.with_name("lab.lock")).load()
    except (OSError, ValueError, LabError) as error:
        sys.stderr.write(f"{AGENT}: no usable lab state: {error}\n")
        return 1
    if state is None:
        sys.stderr.write(f"{AGENT}: no usable lab state: no {path}\n")
        return 1
    nodes = node_names(state.config.nodes)
    if action in ("monitor", "status", "validate-all"):
        return 0
    if action == "list":
        sys.stdout.write("".join(f"{node},\n" for node in nodes))
        return 0
    if action == "on":
        _log(log, f"on {target}: nothing to do (use `ocfkit lab boot`)")
        return 0
    if action in ("off", "reboot"):
        if target not in nodes:
            _log(log, f"{action} {target!r}: no such node")
            sys.stderr.write(f"{AGENT}: no node {target!r}\n")
            return 1
        survivors = switch_off(state, target)
        link_error = cut_link(state, target)
        if link_error is None:
            _record_link_down(path, target)
        else:
            _log(log, f"{action} {target}: link not taken down: {link_error}")
        _log(log, f"{action} {target}: " + (f"survivors {survivors}" if survivors else "done"))
        return 1 if survivors else 0
    sys.stderr.write(f"{AGENT}: action {action!r} not supported\n")
    return 1
