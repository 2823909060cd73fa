"""The cluster the scenarios run on: four lab nodes, real ganesha, the agents, the generated CIB.

Everything a scenario needs to know about it lives here: the virtual IPs and
their failover targets (from :mod:`ganesha_agents.config`, never restated),
the recorder's probes, what "healthy" means, and how to get back there
between scenarios with nothing but what a node does by itself (ganesha
started again, a fenced node booted): no cleanup command, no manual
attribute.

The lab is laid out as a real deployment: every node's ganesha keeps its
recovery records on one shared state volume (a directory of the lab's that
every node sees at the same path, as a GlusterFS volume is mounted), in
GlusterFS 3.7's layout (:mod:`ganesha_agents.state_volume`), with
``Clustered = false`` so records land where a takeover reads them.  Every
node exports one directory of the lab's at ``/export`` (the data volume,
the same directory and export id everywhere, so a file handle from one node
is valid on the next); each node's own directory, at ``/node``, holds the
file that says which node served a read.  What runs on it (agents and
configuration) is a :class:`~tests.scenarios.stack.Stack`.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from lxml import etree

from ganesha_agents import state_volume
from ganesha_agents.config import ClusterSpec, Layout, NodeAddress, cib, failover_targets, plan
from ganesha_agents.config.model import Clone
from ganesha_agents.config.spec import NfsdMode
from ocfkit.lab import Lab, LabError, LabTimeout
from ocfkit.lab.recorder import Recorder, address_probe, attribute_probe, grace_probe
from tests.scenarios.logs import NodeLogs
from tests.scenarios.stack import COMPAT, Stack

NODE_COUNT = 4
#: ganesha's grace period: longer than ganesha_mon's 5 s grace_delay, so a
#: client that follows a moved VIP still meets a server in grace.
GRACE_PERIOD = 10
#: Longer than the cluster takes to fence a node it lost (5-7 s here: corosync's
#: token and consensus, then the fence device): until it is fenced, a node cut
#: off keeps its ganesha.nfsd running, which expires the clients it no longer
#: hears from after their lease and deletes their records from the shared
#: volume, so the takeover would find none.  With 5 s, 2 of 3 link cuts lost
#: the client's records that way.  Not longer than the grace period (ganesha
#: warns when it is).
LEASE_LIFETIME = 10
#: The VIP of node N is <subnet>.(VIP_BASE + N): inside the lab's /24, used by no node.
VIP_BASE = 200
PROVIDER = "ganesha"
AGENTS = ("ganesha_mon", "ganesha_grace")
#: Inherited by every agent Pacemaker runs: their own log lines, in the
#: node's pacemaker.log, stamped to the nanosecond, in UTC like Pacemaker's.
PACEMAKER_ENV = {
    "HA_LOGFILE": "/var/log/pacemaker/pacemaker.log",
    "HA_DATEFMT": "%F %T.%N ",
    "TZ": "UTC",
}
#: In each node's own export (``/node``): ``served by <node>``.
EXPORT_FILE = "who"
#: Where a client finds the directory every node exports.
SHARED_PSEUDO = "/export"
ATTRIBUTES = ("grace-active", "ganesha-active")
MON_INTERVAL = 10.0


def volume_of(workdir: str | Path) -> Path:
    """The lab's shared state volume."""
    return Path(workdir) / "state-volume"


def shared_export_of(workdir: str | Path) -> Path:
    """The directory every node exports at /export: the lab's data volume.

    Inside a directory only root may enter (0700), as each node's own export
    is: the export is read-write with root not squashed.
    """
    return Path(workdir) / "data" / "export"


def cluster_spec(lab: Lab, stack: Stack) -> ClusterSpec:
    """One VIP per node inside the lab's subnet, /24 on eth0 as the lab's links need, fencing on."""
    extra: dict[str, object] = {}
    if stack.layout is Layout.TAKEOVER:
        extra["ha_vol_mnt"] = str(volume_of(lab.workdir))
        # The lab lays the volume out itself and names each node's RecoveryRoot on it
        # (ganesha_nfsd's direct mode, done at set-up); the volume is a directory, not the
        # mount point ganesha_nfsd requires, and link mode would switch /var/lib/nfs of the
        # host, which every node shares.
        extra["nfsd_mode"] = NfsdMode.NONE
    if stack.grace_delay is not None:
        extra["grace_delay"] = stack.grace_delay
    return ClusterSpec(
        nodes=tuple(
            NodeAddress(node, f"{lab.layout.subnet}.{VIP_BASE + lab.layout.index(node)}")
            for node in lab.nodes
        ),
        layout=stack.layout,
        provider=stack.provider,
        cidr_netmask=24,
        nic="eth0",
        properties=True,
        stonith_enabled=True,
        **extra,  # type: ignore[arg-type]
    )


def new_lab(workdir: str, stack: Stack = COMPAT, count: int = NODE_COUNT) -> Lab:
    """A lab whose ganesha daemons keep their records on the shared state volume."""
    volume = volume_of(workdir)
    volume.mkdir(mode=0o755, exist_ok=True)
    nodes = tuple(f"node{i}" for i in range(1, count + 1))
    state_volume.create(volume, nodes)
    shared = shared_export_of(workdir)
    shared.parent.mkdir(mode=0o700, exist_ok=True)
    shared.parent.chmod(0o700)
    shared.mkdir(mode=0o755, exist_ok=True)
    return Lab(
        workdir,
        count,
        ganesha=True,
        grace_period=GRACE_PERIOD,
        lease_lifetime=LEASE_LIFETIME,
        pacemaker_env=PACEMAKER_ENV,
        recovery_root=state_volume.recovery_root(volume, "{node}"),
        clustered=False,
        ganesha_pid_file=stack.ganesha_pid_file,
        shared_export=str(shared),
    )


def vip_resource(node: str) -> str:
    return f"{node}-cluster_ip-1"


class HaCluster:
    """A lab running the NFS-Ganesha HA configuration, with the questions scenarios ask of it."""

    def __init__(self, lab: Lab, stack: Stack = COMPAT) -> None:
        self.lab = lab
        self.stack = stack
        self.spec = cluster_spec(lab, stack)
        self.configuration = plan(self.spec)
        self.vips = {node.name: str(node.ip) for node in self.spec.nodes}
        self.logs = NodeLogs(lab)
        self.volume = volume_of(lab.workdir)
        self.shared = shared_export_of(lab.workdir)

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.lab.nodes

    def failover_target(self, home: str) -> str:
        """Where ``home``'s VIP goes first, as the configuration documents it."""
        address = next(n for n in self.spec.nodes if n.name == home)
        return failover_targets(self.spec.nodes, address)[0]

    def others(self, *nodes: str) -> list[str]:
        """Every node but ``nodes``: the survivors."""
        return [n for n in self.nodes if n not in nodes]

    def client_for(self, server: str, *avoid: str) -> str:
        """A node other than ``server`` (and ``avoid``) to run an NFS client in."""
        return next(n for n in self.nodes if n != server and n not in avoid)

    # -- setting up ----------------------------------------------------------------------

    def bring_up(self, *, configure: bool = True) -> float:
        """Lab up, configuration loaded, cluster healthy; returns the seconds it took.

        Without ``configure`` the agents are installed but the CIB holds no
        resource of ours: a cluster for ``ganesha-agents setup`` to configure.
        A lab that fails on the way is taken down again before the error
        (with the nodes' logs attached) propagates.
        """
        began = time.monotonic()
        try:
            self.lab.up()
            self.set_up(load=configure)
            if configure:
                self.restore()
        except LabError as error:
            if not getattr(error, "__notes__", None):
                error.add_note(self.lab.report())
            self.lab.down(graceful=False)
            raise
        return time.monotonic() - began

    def rebuild(self) -> float:
        """A fresh lab in the same working directory, for a scenario that broke this one."""
        self.lab.down(graceful=False)
        self.lab = new_lab(str(self.lab.workdir), self.stack)
        self.logs = NodeLogs(self.lab)
        return self.bring_up()

    def set_up(self, *, load: bool = True) -> None:
        """The stack's agents, a file in each node's own export, then (``load``) the CIB."""
        if self.stack.agents is not None:
            self.lab.install_agents(self.stack.provider, list(self.stack.agents))
        if self.stack.scripts is not None:
            self.lab.install_scripts(self.stack.provider, self.stack.scripts)
        for node in self.nodes:
            home = self.lab.node_dir(node) / "ganesha"
            (home / "export" / EXPORT_FILE).write_text(f"served by {node}\n")
        if load:
            self.lab.load_cib(cib.render(self.configuration), merge=True)

    def add_node(self) -> str:
        """One more lab node, its records on the state volume, its export's file; no CIB change.

        The node joins the cluster as ``pcs cluster node add`` makes it join,
        agents installed and ganesha.nfsd running; putting it into the
        configuration is ``ganesha-agents add``'s job.
        """
        node = f"node{len(self.nodes) + 1}"
        state_volume.create(self.volume, [*self.nodes, node])
        added = self.lab.add_node()
        assert added == node, (added, node)
        home = self.lab.node_dir(node) / "ganesha"
        (home / "export" / EXPORT_FILE).write_text(f"served by {node}\n")
        return node

    def vip_of(self, node: str) -> str:
        """The address whose home is ``node``, in the lab's subnet (a node added later too)."""
        return f"{self.lab.layout.subnet}.{VIP_BASE + int(node.removeprefix('node'))}"

    def clones(self) -> list[str]:
        """The configuration's clones: each is expected on every node when healthy."""
        return [r.id for r in self.configuration.resources if isinstance(r, Clone)]

    def takeover_clone(self, home: str) -> str | None:
        """The promotable clone whose promoted instance holds ``home``'s VIP, if any."""
        wanted = f"{home}-takeover-clone"
        return wanted if wanted in self.clones() else None

    def recorder(self, *, attributes: bool = True) -> Recorder:
        """VIPs every 20 ms, grace every 50 ms, attributes every 100 ms.

        The VIP probe reads /proc and costs nothing; the others start a
        program per node or per query, and the cluster under test shares
        the machine's two cores: sampling them every 20 ms delayed the
        survivors' grace by some 0.2 s.  The precise times of those events
        come from the log lines anyway, so a scenario that proves its order
        with the VIP and grace samples alone leaves the attribute probes out
        (``attributes=False``: some 20 attrd queries a second less).
        """
        probes = {
            "vip": address_probe(self.lab, self.vips.values()),
            "grace": grace_probe(self.lab),
        }
        if attributes:
            probes.update({name: attribute_probe(self.lab, name) for name in ATTRIBUTES})
        return Recorder(
            probes,
            interval=0.02,
            intervals={"grace": 0.05, **dict.fromkeys(ATTRIBUTES, 0.1)},
        )

    # -- looking -------------------------------------------------------------------------

    def vip_holders(self) -> dict[str, tuple[str, ...]]:
        """{VIP: nodes whose interface carries it}."""
        answer = address_probe(self.lab, self.vips.values())()
        return {k: tuple(map(str, v)) if isinstance(v, tuple) else () for k, v in answer.items()}

    def attributes(self, name: str) -> dict[str, str]:
        return {k: str(v) for k, v in attribute_probe(self.lab, name)().items()}

    def live_nodes(self) -> list[str]:
        state = self.lab.state()
        return [
            n
            for n in self.nodes
            if n not in state.links_down and self.lab.is_running(n, "pacemakerd")
        ]

    def failed_actions(self) -> list[str]:
        """Pacemaker's failed-action history, as crm_mon lists it (op, node, reason)."""
        node = self.live_nodes()[0]
        done = self.lab.exec(node, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
        root = etree.fromstring(done.stdout.encode())
        return [
            f"{f.get('op_key')} on {f.get('node')}: {f.get('exitreason') or f.get('exitstatus')}"
            for f in root.iter("failure")
        ]

    def problems(self) -> list[str]:
        """What keeps the cluster from the healthy state every scenario starts from."""
        found: list[str] = []
        live = self.live_nodes()
        down = [n for n in self.nodes if n not in live]
        if down:
            return [f"cluster stack not running on {' '.join(down)}"]
        status = self.lab.status(live[0])
        if sorted(status.online()) != list(self.nodes):
            found.append(f"online: {status.online()}")
        for clone in self.clones():
            if status.running_on(clone) != list(self.nodes):
                found.append(f"{clone} running on {status.running_on(clone)}")
        for node in self.nodes:
            if status.started_on(vip_resource(node)) != [node]:
                found.append(f"{vip_resource(node)} on {status.started_on(vip_resource(node))}")
            takeover = self.takeover_clone(node)
            if takeover and status.promoted_on(takeover) != [node]:
                found.append(f"{takeover} promoted on {status.promoted_on(takeover)}")
        found += [f"failed: {r.id}" for r in status.failed()]
        holders = self.vip_holders()
        found += [
            f"{vip} configured on {holders.get(vip)}"
            for node, vip in self.vips.items()
            if holders.get(vip) != (node,)
        ]
        for name in ATTRIBUTES:
            values = self.attributes(name)
            found += [f"{name}[{n}]={values.get(n)!r}" for n in self.nodes if values.get(n) != "1"]
        for node in self.nodes:
            grace = self.lab.ganesha_in_grace(node)
            if grace is not False:
                found.append(f"{node}: ganesha " + ("in grace" if grace else "not answering"))
        if not found and not self.lab.idle(live[0]):
            found.append("the DC is not idle")
        return found

    # -- restoring ---------------------------------------------------------------------

    def restore(self, timeout: float = 150.0) -> float:
        """Back to healthy as a node would get there by itself; returns the seconds it took.

        A node whose cluster stack is down is booted; a ganesha.nfsd that is
        gone is started.  Then everything is left to the cluster and the
        agents: ganesha_mon sets the attributes again, nfs-grace starts, the
        VIPs come home, the servers' grace periods run out.
        """
        began = time.monotonic()
        state = self.lab.state()
        for node in self.nodes:
            stack = all(self.lab.is_running(node, r) for r in ("corosync", "pacemakerd"))
            if not stack or node in state.links_down:
                self.lab.boot(node, wait=False)
            elif self.lab.ganesha_in_grace(node) is None:
                self.lab.start_ganesha(node)
        last: list[str] = []

        def healthy() -> bool:
            nonlocal last
            last = self.problems()
            return not last

        try:
            self.lab.wait_for(healthy, timeout, "the healthy cluster", interval=0.5)
        except LabTimeout as error:
            error.add_note("still wrong: " + "; ".join(last))
            raise
        return time.monotonic() - began

    # -- clients -------------------------------------------------------------------------

    def nfs_read(self, client: str, address: str) -> subprocess.CompletedProcess[str]:
        """An NFSv4 read of the node's own file (who served it), by a client inside ``client``."""
        url = f"nfs://{address}/node/{EXPORT_FILE}?version=4"
        try:
            return self.lab.exec(client, ["nfs-cat", url], timeout=30)
        except LabError as error:
            return subprocess.CompletedProcess(["nfs-cat", url], 124, "", str(error))
