"""The lab facade: bring a cluster up, act on its nodes, take it down.

``Lab(workdir, nodes=3, ganesha=True)`` describes a lab; :meth:`Lab.up`
builds it and :meth:`Lab.down` removes every trace of it.  Another process
can :meth:`Lab.attach` to a running lab through the state file in the
working directory (that is how each ``ocfkit lab`` command works).

Every wait is bounded.  When one runs out, the exception carries a report
(crm_mon and the tail of every node's logs) as an exception note, which
pytest and the CLI print, because "did not converge" alone explains nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from lxml import etree

from ocfkit.lab import (
    diagnosis,
    fencing,
    ganesha,
    namespaces,
    network,
    nodedirs,
    processes,
    render,
)
from ocfkit.lab.commands import DAEMON_ENV, host_env, run, spawn
from ocfkit.lab.errors import LabError, LabTimeout
from ocfkit.lab.layout import DEFAULT_SUBNET, RSCTMP, Layout
from ocfkit.lab.progress import Progress
from ocfkit.lab.state import LabConfig, LabState, ProcessRecord, StateFile
from ocfkit.lab.status import ClusterStatus, FenceEvent, parse_crm_mon, parse_fence_history
from ocfkit.lab.teardown import teardown
from ocfkit.lab.workdir import UnsafeWorkdir, check_program, create_workdir

T = TypeVar("T")

_PROGRAMS = (
    "ip", "unshare", "nsenter", "mount", "setpriv", "corosync", "pacemakerd",
    "corosync-quorumtool", "crm_mon", "crm_resource", "crmadmin", "cibadmin", "stonith_admin",
)  # fmt: skip
_GANESHA_PROGRAMS = ("dbus-daemon", "dbus-send", "ganesha.nfsd")
_CIB_SECTIONS = {
    "configuration", "resources", "constraints", "crm_config", "rsc_defaults",
    "op_defaults", "nodes", "fencing-topology", "alerts", "tags",
}  # fmt: skip
_RESOURCE_TAGS = {"primitive", "group", "clone", "master", "bundle", "template"}
_CONSTRAINT_TAGS = {"rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket"}
#: sun_path holds 108 bytes, the terminating NUL included.
_SOCKET_PATH_MAX = 108
_NODES_LINE = re.compile(r"^Nodes:\s+(\d+)", re.MULTILINE)
_PACEMAKER_ENV = {
    **DAEMON_ENV,
    # No syslog daemon runs here: Pacemaker logs to /var/log/pacemaker only.
    "PCMK_logfacility": "none",
    "PCMK_logfile": "/var/log/pacemaker/pacemaker.log",
}


class Lab:
    """A cluster of ``nodes`` Pacemaker nodes in namespaces, described by its working directory."""

    up_timeout_membership = 30.0
    up_timeout_pacemaker = 90.0
    up_timeout_ganesha = 20.0

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        nodes: int = 3,
        *,
        ganesha: bool = False,
        fencing: bool = True,
        subnet: str = DEFAULT_SUBNET,
        grace_period: int = 20,
        lease_lifetime: int = 10,
        pacemaker_env: Mapping[str, str] | None = None,
        recovery_root: str | None = None,
        clustered: bool | None = None,
        ganesha_pid_file: str = ganesha.PID_FILE,
        shared_export: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        """``recovery_root`` places ganesha's RecoveryRoot (``{node}`` is the node's name),
        for instance on a directory that stands for a shared state volume; the directory
        must exist when the lab comes up.  ``clustered`` sets ganesha's ``Clustered``.
        ``ganesha_pid_file`` is where ganesha writes its pid, under the node's own /run
        (agents that look elsewhere than ganesha's default need it there).
        ``shared_export`` is a directory every node exports at ``/export`` with the same
        export id, as a shared volume is exported by every server of a real cluster: a file
        handle from one node is valid on every other.  Each node's own directory is then
        exported at ``/node`` (what tells the nodes apart).  It must exist when the lab comes
        up; the lab never removes it."""
        if recovery_root is not None:
            recovery_root = _check_recovery_root(recovery_root)
        if shared_export is not None:
            shared_export = _check_shared_export(shared_export)
        pid_file = ganesha_pid_file
        if not re.fullmatch(r"/run/[A-Za-z0-9._/-]+", pid_file) or ".." in pid_file:
            raise ValueError(f"ganesha_pid_file must be a path under /run, not {pid_file!r}")
        self.config = LabConfig(
            nodes=nodes,
            ganesha=ganesha,
            fencing=fencing,
            subnet=subnet,
            grace_period=grace_period,
            lease_lifetime=lease_lifetime,
            pacemaker_env=_check_env(pacemaker_env or {}),
            recovery_root=recovery_root,
            clustered=clustered,
            ganesha_pid_file=ganesha_pid_file,
            shared_export=shared_export,
        )
        self.layout = Layout.create(Path(workdir), nodes, subnet)
        socket = self.layout.bus_socket(self.nodes[-1])
        if ganesha and len(bytes(socket)) >= _SOCKET_PATH_MAX:
            raise ValueError(
                f"{socket} is longer than a unix socket path may be: choose a shorter workdir"
            )
        self.progress = progress if progress is not None else Progress()
        self._store = StateFile(self.layout.state_file, self.layout.lock_file)
        self._children: list[subprocess.Popen[bytes]] = []

    @classmethod
    def attach(cls, workdir: str | os.PathLike[str], progress: Progress | None = None) -> Lab:
        """The lab whose state is in ``workdir`` (brought up by this or another process).

        Raises :class:`~ocfkit.lab.workdir.UnsafeWorkdir` before reading
        anything when someone other than root could have written the state.
        """
        layout = Layout.create(workdir, 1)
        store = StateFile(layout.state_file, layout.lock_file)
        state = store.load() if os.path.lexists(layout.workdir) else None
        if state is None:
            raise LabError(f"no lab in {workdir} (no {layout.state_file})")
        c = state.config
        return cls(
            workdir,
            c.nodes,
            ganesha=c.ganesha,
            fencing=c.fencing,
            subnet=c.subnet,
            grace_period=c.grace_period,
            lease_lifetime=c.lease_lifetime,
            pacemaker_env=c.pacemaker_env,
            recovery_root=c.recovery_root,
            clustered=c.clustered,
            ganesha_pid_file=c.ganesha_pid_file,
            shared_export=c.shared_export,
            progress=progress,
        )

    # -- description ---------------------------------------------------------------

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.layout.nodes

    @property
    def workdir(self) -> Path:
        return self.layout.workdir

    def node_address(self, node: str) -> str:
        return self.layout.address(node)

    def node_dir(self, node: str) -> Path:
        return self.layout.node_dir(node)

    def bus_address(self, node: str) -> str:
        """``DBUS_SYSTEM_BUS_ADDRESS`` that reaches the node's private system bus from the host."""
        return ganesha.bus_address(self.layout.bus_socket(node))

    def state(self) -> LabState:
        state = self._store.load()
        if state is None:
            raise LabError(f"no lab in {self.workdir}")
        return state

    def live_processes(self, node: str | None = None) -> list[ProcessRecord]:
        """Recorded processes that still run."""
        return [r for r in self.state().records(node) if processes.is_alive(r.id)]

    def is_running(self, node: str, role: str) -> bool:
        """Whether the lab-started ``role`` (holder, corosync, pacemakerd, dbus, ganesha) runs."""
        record = self.state().latest(node, role)
        return record is not None and processes.is_alive(record.id)

    # -- bringing up -----------------------------------------------------------------

    def up(self) -> Lab:
        """Build the cluster: network, namespaces, services, corosync, Pacemaker."""
        layout, config = self.layout, self.config
        what = f"{config.nodes} nodes" + (", ganesha" if config.ganesha else "")
        self.progress.begin(f"lab {layout.lab_id}: bringing up {what} in {layout.workdir}")
        self._preflight()
        try:
            self._up()
        except LabError as error:
            if not getattr(error, "__notes__", None):
                error.add_note(self.report())
            raise
        except OSError as error:
            failure = LabError(f"bringing the lab up failed: {error}")
            failure.add_note(self.report())
            raise failure from error
        return self

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise LabError("the lab needs root (namespaces, mounts, cluster daemons)")
        wanted = _PROGRAMS + (_GANESHA_PROGRAMS if self.config.ganesha else ())
        missing = [p for p in wanted if shutil.which(p, path=DAEMON_ENV["PATH"]) is None]
        if missing:
            raise LabError(f"programs not installed: {' '.join(missing)}")
        try:
            pwd.getpwnam("hacluster")
        except KeyError:
            raise LabError("no user hacluster: is pacemaker installed?") from None
        create_workdir(self.workdir)
        check_program()
        _check_traversable(self.workdir)
        shared = self.config.shared_export
        if self.config.ganesha and shared is not None and not Path(shared).is_dir():
            raise LabError(f"the shared export {shared} is not a directory")
        old = self._store.load()
        running = old is not None and (
            any(processes.is_alive(r.id) for r in old.processes)
            or bool(network.existing(self.layout.prefix))
        )
        if old is not None and old.phase != "down" and running:
            raise LabError(
                f"a lab is already up in {self.workdir}: "
                f"`ocfkit lab down --workdir {self.workdir}` first"
            )
        if network.existing(self.layout.prefix):
            teardown(self.layout, old, self.progress)

    def _up(self) -> None:
        layout, config = self.layout, self.config
        fence_agent = fencing.install(layout).name if config.fencing else None
        nodedirs.prepare(layout, config, fence_agent)
        for provider in self._lab_providers():
            nodedirs.link_provider(layout, provider)
        with self._store.locked():
            self._store.save(LabState(str(layout.workdir), config))

        inodes = network.create(layout)
        with self._store.update() as state:
            state.namespaces = inodes
        self.progress.step(
            f"network: bridge and {len(self.nodes)} links in {config.subnet}.0/24"
            f" (netns {layout.prefix}*)"
        )

        holders = {}
        for node in self.nodes:
            steps = namespaces.plan(layout, node, fencing=config.fencing, ganesha=config.ganesha)
            holders[node] = namespaces.start_holder(layout, node, steps)
        self._children += holders.values()
        ready = namespaces.wait_ready(layout, holders, timeout=15.0)
        with self._store.update() as state:
            for node, pid in ready.items():
                found = processes.identify(pid)
                if found is None:
                    raise LabError(f"{node}: namespace holder {pid} is gone")
                state.processes.append(ProcessRecord(node, "holder", found.pid, found.start))
        self.progress.step("namespaces: one network + mount + UTS namespace per node")

        if config.ganesha:
            for node in self.nodes:
                self._start_bus(node)
            for node in self.nodes:
                self._spawn_ganesha(node)

        for node in self.nodes:
            self._spawn(node, "corosync", ["corosync", "-f"], "corosync.out")
        first = self.nodes[0]
        self.wait_for(
            lambda: self.membership(first) == len(self.nodes),
            self.up_timeout_membership,
            f"corosync membership of {len(self.nodes)}",
        )
        self.progress.step(f"corosync: membership of {len(self.nodes)} formed")

        for node in self.nodes:
            self._spawn_pacemaker(node)
        # Polled less often than the rest: each crm_mon costs CPU the starting daemons need.
        status = self.wait_for(
            lambda: self._converged(first),
            self.up_timeout_pacemaker,
            "Pacemaker online with a DC",
            interval=0.3,
        )
        fenced = ", fence device started" if config.fencing else ""
        self.progress.step(
            f"pacemaker: {len(status.online())} nodes online, DC {status.dc}{fenced}"
        )

        if config.ganesha:
            self.wait_for(
                lambda: all(self.ganesha_in_grace(n) is not None for n in self.nodes),
                self.up_timeout_ganesha,
                "ganesha answering on every node's bus",
            )
            self.progress.step("ganesha: every node's ganesha.nfsd answers on its own bus")
        with self._store.update() as state:
            state.phase = "up"
        self.progress.step(f"lab up in {self.progress.elapsed():.2f}s")

    def _lab_providers(self) -> list[str]:
        root = self.layout.shims_root / "resource.d"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def _spawn_pacemaker(self, node: str) -> None:
        """pacemakerd with the lab's environment, then the caller's additions.

        Pacemaker's daemons inherit it, and the executor passes it on to
        every agent it runs: ``HA_LOGFILE`` and ``HA_DATEFMT`` there give the
        agents' own log lines a file and a timestamp format.
        """
        env = {**_PACEMAKER_ENV, **self.config.pacemaker_env}
        self._spawn(node, "pacemakerd", ["pacemakerd", "-f"], "pacemakerd.out", env)

    def membership(self, node: str) -> int:
        """How many nodes corosync on ``node`` counts as members (0 when it does not answer)."""
        done = self.exec(node, ["corosync-quorumtool", "-s"], timeout=10)
        match = _NODES_LINE.search(done.stdout)
        return int(match.group(1)) if match else 0

    def _converged(self, node: str) -> ClusterStatus | None:
        status = self.status(node)
        if status.dc is None or sorted(status.online()) != sorted(self.nodes):
            return None
        if any(n.pending or n.unclean for n in status.nodes.values()):
            return None
        if self.config.fencing and not status.started_on("lab-fence"):
            return None
        return status

    # -- processes in nodes -------------------------------------------------------------

    def _holder(self, node: str) -> int:
        record = self.state().latest(node, "holder")
        if record is None or not processes.is_alive(record.id):
            raise LabError(f"{node} is not up (no namespace holder)")
        return record.pid

    def _spawn(
        self,
        node: str,
        role: str,
        argv: Sequence[str],
        log: str,
        env: Mapping[str, str] | None = None,
    ) -> processes.ProcessId:
        """Start a daemon inside ``node`` and record it."""
        child = spawn(
            [*namespaces.enter(self._holder(node)), *argv],
            log=self.node_dir(node) / log,
            env=env or DAEMON_ENV,
        )
        self._reap()
        self._children.append(child)
        found = processes.identify(child.pid)
        if found is None:
            child.poll()
            raise LabError(
                f"{node}: {argv[0]} exited at once\n{diagnosis.tail(self.node_dir(node) / log)}"
            )
        with self._store.update() as state:
            state.processes.append(ProcessRecord(node, role, found.pid, found.start))
        return found

    def in_node(self, node: str, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` inside ``node``, for callers that run it themselves."""
        return [*namespaces.enter(self._holder(node)), *argv]

    def _reap(self, ended: Iterable[int] = (), timeout: float = 0.0) -> None:
        """Collect the daemons this object started that have ended (no zombies left behind).

        ``ended`` are pids known to be ending: they are waited for, up to
        ``timeout``, as init would collect them.  A killed multi-threaded
        daemon (ganesha.nfsd) shows as a zombie before its last thread has
        exited, and cannot be collected yet; left uncollected, its pid stays
        in /proc, where an agent that checks ``/proc/<pid>`` (GlusterFS 3.7's
        ganesha_mon) would take it for a live daemon.
        """
        waiting = set(ended)
        deadline = time.monotonic() + timeout
        for child in self._children:
            if child.pid in waiting:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(max(0.0, deadline - time.monotonic()))
        self._children = [child for child in self._children if child.poll() is None]

    def exec(
        self,
        node: str,
        argv: Sequence[str],
        timeout: float = 30.0,
        *,
        check: bool = False,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside ``node`` (its network, mounts and hostname), capturing output."""
        if isinstance(argv, str):
            raise TypeError("argv must be a list of arguments, never a shell string")
        return run(
            [*namespaces.enter(self._holder(node)), *argv],
            timeout=timeout,
            check=check,
            input=input,
            env=host_env(env),
        )

    # -- the cluster ------------------------------------------------------------------

    def query_node(self, exclude: Iterable[str] = ()) -> str:
        """A node that can answer for the cluster: Pacemaker running, link up."""
        state = self.state()
        skip = set(exclude) | set(state.links_down)
        for node in self.nodes:
            if node in skip:
                continue
            record = state.latest(node, "pacemakerd")
            if record is not None and processes.is_alive(record.id):
                return node
        raise LabError("no node with a running Pacemaker and its link up")

    def crm_mon(self, node: str | None = None, *args: str) -> str:
        """``crm_mon -1`` as text (default options ``-r -A -f``), for eyes and failure reports."""
        node = node or self.query_node()
        done = self.exec(node, ["crm_mon", "-1", *(args or ("-r", "-A", "-f"))], timeout=30)
        return done.stdout + done.stderr

    def status(self, node: str | None = None) -> ClusterStatus:
        """The cluster as ``node`` (default: any live one) sees it."""
        node = node or self.query_node()
        done = self.exec(node, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
        if done.returncode != 0:
            raise LabError(f"crm_mon on {node} exited {done.returncode}: {done.stderr.strip()}")
        return parse_crm_mon(done.stdout)

    def fence_history(self, node: str | None = None) -> list[FenceEvent]:
        """Every fencing operation the fencer on ``node`` knows of.

        ``--verbose``: without it 2.1.5 lists a single successful operation
        (not necessarily the latest), so a second node fenced was missing.
        """
        node = node or self.query_node()
        argv = ["stonith_admin", "--history", "*", "--verbose", "--output-as=xml"]
        done = self.exec(node, argv, timeout=30)
        if done.returncode != 0:
            raise LabError(f"stonith_admin on {node} exited {done.returncode}: {done.stderr}")
        return parse_fence_history(done.stdout)

    def load_cib(self, xml: str, node: str | None = None, *, merge: bool = False) -> None:
        """Put XML into the CIB: a whole ``<cib>``, a section to replace, or an element to add.

        Resources (primitive, group, clone, bundle) and constraints are
        created in their section; ``<resources>``, ``<constraints>``,
        ``<configuration>`` and the like replace theirs; a
        ``cluster_property_set`` is merged into ``crm_config``.  With
        ``merge``, a section is merged instead (``cibadmin --modify``), by
        element name and id, in one update: how a generated configuration is
        added to a cluster without dropping its nodes and fence device.
        """
        tag = etree.fromstring(xml.encode()).tag
        if merge:
            if tag not in _CIB_SECTIONS:
                raise ValueError(f"only a CIB section can be merged, not <{tag}>")
            argv = ["cibadmin", "--modify", "--scope", tag, "--xml-pipe"]
        elif tag == "cib":
            argv = ["cibadmin", "--replace", "--xml-pipe"]
        elif tag in _CIB_SECTIONS:
            argv = ["cibadmin", "--replace", "-o", tag, "--xml-pipe"]
        elif tag in _RESOURCE_TAGS:
            argv = ["cibadmin", "--create", "-o", "resources", "--xml-pipe"]
        elif tag in _CONSTRAINT_TAGS:
            argv = ["cibadmin", "--create", "-o", "constraints", "--xml-pipe"]
        elif tag == "cluster_property_set":
            argv = ["cibadmin", "--modify", "-o", "crm_config", "--xml-pipe"]
        else:
            raise ValueError(f"do not know where <{tag}> goes in the CIB")
        self.exec(node or self.query_node(), argv, timeout=60, input=xml, check=True)

    def settle(self, timeout: float = 60.0, node: str | None = None) -> None:
        """Wait until the cluster has no actions in flight (``crm_resource --wait``).

        Do this before acting on a cluster that is still reacting to the last
        change: ``crm_resource --cleanup`` during a recovery transition once
        made the 2.1.5 controller respawn.
        """
        self.exec(
            node or self.query_node(),
            ["crm_resource", "--wait", f"--timeout={int(timeout)}s"],
            timeout=timeout + 15,
            check=True,
        )

    def idle(self, node: str | None = None) -> bool:
        """Whether the DC is in S_IDLE: no transition in flight (cheaper than :meth:`settle`).

        ``crm_resource --wait`` sleeps two seconds before it first looks;
        asking the DC's controller for its state takes a tenth of that.
        """
        node = node or self.query_node()
        dc = self.status(node).dc
        if dc is None:
            return False
        done = self.exec(node, ["crmadmin", "-S", dc, "--output-as=xml"], timeout=15)
        if done.returncode != 0:
            return False
        state = etree.fromstring(done.stdout.encode()).find("crmd")
        return state is not None and state.get("state") == "S_IDLE"

    def _settle_quietly(self) -> None:
        try:
            self.wait_for(self.idle, 15, "the DC idle", report=False)
        except LabError as error:
            self.progress.step(f"cluster not idle, stopping it anyway ({error})")

    def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float,
        what: str,
        *,
        interval: float = 0.1,
        report: bool = True,
    ) -> T:
        """Poll until ``predicate`` returns something true; returns it.

        A :class:`LabError` from the predicate (a daemon not answering yet)
        counts as "not yet".  At the deadline :class:`LabTimeout` is raised,
        naming ``what`` and the last error, with a report of the nodes.
        """
        deadline = time.monotonic() + timeout
        last_error: LabError | None = None
        while True:
            try:
                result = predicate()
            except LabError as error:
                last_error = error
            else:
                if result:
                    return result
            if time.monotonic() >= deadline:
                detail = f" (last error: {last_error})" if last_error else ""
                timed_out = LabTimeout(f"{what}: not reached within {timeout:g}s{detail}")
                if report:
                    timed_out.add_note(self.report())
                raise timed_out
            time.sleep(interval)

    # -- agents -----------------------------------------------------------------------

    def install_agents(self, provider: str, names: Sequence[str]) -> list[Path]:
        """Install shims for registered agents as ``ocf:<provider>:<name>`` on every node.

        The nodes see them in their own /usr/lib/ocf/resource.d; the host's
        is not touched.  Each shim's meta-data is then read as hacluster,
        which is how Pacemaker calls it, so a permission problem shows here
        and not as a puzzling "not installed" from the cluster.
        """
        from ocfkit.shims import install

        # Created here, not by umask's whim: hacluster must enter them.
        for directory in (self.layout.shims_root, self.layout.shims_root / "resource.d"):
            directory.mkdir(exist_ok=True)
            directory.chmod(0o755)
        try:
            shims = install(provider, list(names), ocf_root=self.layout.shims_root)
        except (OSError, LookupError, ValueError) as error:
            raise LabError(f"cannot install {', '.join(names)}: {error}") from error
        nodedirs.link_provider(self.layout, provider)
        state = self._store.load()
        live = [n for n in self.nodes if state and self._holder_alive(state, n)]
        for shim in shims:
            argv = ["setpriv", "--reuid=hacluster", "--regid=haclient", "--clear-groups",
                    f"/usr/lib/ocf/resource.d/{provider}/{shim.name}", "meta-data"]  # fmt: skip
            done = (
                self.exec(live[0], argv, timeout=30)
                if live
                else run([*argv[:-2], str(shim.path), "meta-data"], timeout=30, check=False)
            )
            if done.returncode != 0 or "<resource-agent" not in done.stdout:
                raise LabError(
                    f"ocf:{provider}:{shim.name}: meta-data as hacluster failed "
                    f"({done.returncode}): {done.stderr.strip()[-1000:]}"
                )
        return [shim.path for shim in shims]

    def install_scripts(self, provider: str, directory: Path) -> list[Path]:
        """Install the executable agents found in ``directory`` as ``ocf:<provider>:<name>``.

        For agents that are not ocfkit agents (shell agents from elsewhere, to
        measure beside ours): each regular executable file is copied, mode 0755,
        root-owned, so nothing another user can change runs as root.
        """
        target = self.layout.shims_root / "resource.d" / provider
        for path in (self.layout.shims_root, self.layout.shims_root / "resource.d", target):
            path.mkdir(exist_ok=True)
            path.chmod(0o755)
        installed = []
        for script in sorted(directory.iterdir()):
            if script.is_file() and not script.is_symlink() and os.access(script, os.X_OK):
                copy = target / script.name
                shutil.copyfile(script, copy, follow_symlinks=False)
                copy.chmod(0o755)
                installed.append(copy)
        if not installed:
            raise LabError(f"no executable agent in {directory}")
        nodedirs.link_provider(self.layout, provider)
        return installed

    @staticmethod
    def _holder_alive(state: LabState, node: str) -> bool:
        record = state.latest(node, "holder")
        return record is not None and processes.is_alive(record.id)

    # -- scenarios ------------------------------------------------------------------------

    def stop_pacemaker(self, node: str, timeout: float = 60.0) -> None:
        """Stop Pacemaker on ``node`` cleanly (its resources stop or move first)."""
        record = self.state().latest(node, "pacemakerd")
        if record is None or not processes.is_alive(record.id):
            return
        left = processes.wait_gone(processes.send([record.id], signal.SIGTERM), timeout)
        if left:
            error = LabTimeout(f"{node}: pacemakerd {record.pid} still running after {timeout:g}s")
            error.add_note(self.report())
            raise error
        self._reap()
        self.progress.step(f"{node}: pacemaker stopped")

    def start_pacemaker(self, node: str, *, wait: bool = True, timeout: float = 60.0) -> None:
        """Start Pacemaker on ``node``, and corosync first if it is not running (after fencing)."""
        if not self.is_running(node, "corosync"):
            self._spawn(node, "corosync", ["corosync", "-f"], "corosync.out")
            self.wait_for(lambda: self.membership(node) > 0, timeout, f"{node}: corosync running")
        if not self.is_running(node, "pacemakerd"):
            self._spawn_pacemaker(node)
        if wait:
            self.wait_for(lambda: self._member(node), timeout, f"{node}: online in the cluster")
        self.progress.step(f"{node}: pacemaker started")

    def _member(self, node: str) -> bool:
        status = self.status(node)
        mine = status.nodes.get(node)
        return status.dc is not None and mine is not None and mine.online and not mine.pending

    def link_down(self, node: str) -> None:
        """Cut ``node`` off the others: its interface goes down (the others will fence it)."""
        network.set_link(self.layout, node, up=False)
        with self._store.update() as state:
            if node not in state.links_down:
                state.links_down.append(node)
        self.progress.step(f"{node}: link down")

    def link_up(self, node: str) -> None:
        network.set_link(self.layout, node, up=True)
        with self._store.update() as state:
            if node in state.links_down:
                state.links_down.remove(node)
        self.progress.step(f"{node}: link up")

    def fence(self, node: str, *, via: str | None = None, timeout: float = 60.0) -> None:
        """Have the cluster fence ``node`` (``stonith_admin --reboot`` on another node)."""
        if not self.config.fencing:
            raise LabError("this lab was brought up without fencing")
        via = via or self.query_node(exclude=[node])
        self.exec(
            via,
            ["stonith_admin", "--reboot", node, f"--timeout={int(timeout)}"],
            timeout=timeout + 30,
            check=True,
        )
        self.progress.step(f"{node}: fenced (requested on {via})")

    def boot(self, node: str, *, wait: bool = True, timeout: float = 60.0) -> None:
        """Bring a fenced or stopped node back: link, corosync, Pacemaker and its services.

        A node whose cluster stack is down starts as from a reboot: its
        interface carries only its own address again (a virtual IP an agent
        added before the power cut would otherwise come back and clash with
        the copy the cluster started elsewhere), and what agents remember in
        ``HA_RSCTMP`` is gone (a state file from before the cut would make
        the first probe report an instance the cluster knows is stopped).
        """
        if not (self.is_running(node, "corosync") or self.is_running(node, "pacemakerd")):
            network.reset(self.layout, node)
            self.exec(node, ["find", RSCTMP, "-mindepth", "1", "-delete"], timeout=15, check=True)
            with self._store.update() as state:
                if node in state.links_down:
                    state.links_down.remove(node)
            self.progress.step(f"{node}: interface and {RSCTMP} as after a reboot")
        elif node in self.state().links_down:
            self.link_up(node)
        if self.config.ganesha:
            self.start_ganesha(node)
        self.start_pacemaker(node, wait=wait, timeout=timeout)

    def add_node(self, *, timeout: float = 90.0) -> str:
        """Add one node to the running cluster, as ``pcs cluster node add`` does; returns its name.

        The new node gets its namespaces, directories and link on the bridge;
        every running node's corosync.conf gains it and corosync reloads it
        (``corosync-cfgtool -R``); the fence device learns to fence it; then
        its bus and ganesha (with ``ganesha=True``), corosync and Pacemaker
        start, and the call returns once it is online in the cluster.  Its
        Pacemaker starts without a CIB of its own and takes the cluster's.
        """
        state = self.state()
        if state.phase != "up":
            raise LabError(f"the lab in {self.workdir} is not up")
        config = dataclasses.replace(self.config, nodes=self.config.nodes + 1)
        layout = Layout.create(self.workdir, config.nodes, config.subnet)
        node = layout.nodes[-1]
        socket = layout.bus_socket(node)
        if config.ganesha and len(bytes(socket)) >= _SOCKET_PATH_MAX:
            raise LabError(f"{socket} is longer than a unix socket path may be")
        running = [n for n in self.nodes if self.is_running(n, "corosync")]
        if not running:
            raise LabError("no node runs corosync: the cluster is down")
        self.progress.step(f"{node}: joining the cluster of {' '.join(running)}")
        nodedirs.prepare_node(layout, config, node, cib=None)
        # The state names the node before anything of it exists, so that
        # `down` finds whatever a failure below leaves behind.
        self.layout, self.config = layout, config
        for provider in self._lab_providers():
            nodedirs.link_provider(layout, provider)
        with self._store.update() as saved:
            saved.config = config
        inodes = network.add_node(layout, node)
        with self._store.update() as saved:
            saved.namespaces.update(inodes)

        steps = namespaces.plan(layout, node, fencing=config.fencing, ganesha=config.ganesha)
        holder = namespaces.start_holder(layout, node, steps)
        self._children.append(holder)
        pid = namespaces.wait_ready(layout, {node: holder}, timeout=15.0)[node]
        found = processes.identify(pid)
        if found is None:
            raise LabError(f"{node}: namespace holder {pid} is gone")
        with self._store.update() as saved:
            saved.processes.append(ProcessRecord(node, "holder", found.pid, found.start))

        for member in self.nodes:
            nodedirs.write_corosync_conf(layout, member)
        for member in running:
            self.exec(member, ["corosync-cfgtool", "-R"], timeout=30, check=True)
        if config.fencing:
            self._fence_every_node(running[0])
        self.progress.step(f"{node}: in every corosync.conf, reloaded on {' '.join(running)}")
        if config.ganesha:
            self.start_ganesha(node)
        self.start_pacemaker(node, timeout=timeout)
        self.wait_for(
            lambda: self.membership(running[0]) == len(running) + 1,
            timeout,
            f"corosync membership of {len(running) + 1}",
        )
        self.progress.step(f"{node}: added ({layout.address(node)})")
        return node

    def remove_node(self, *, timeout: float = 90.0) -> str:
        """Remove the last node from the cluster, as ``pcs cluster node remove`` does.

        Pacemaker stops there cleanly (its resources move first), then
        corosync; the others' corosync.conf lose it and corosync reloads
        them; ``crm_node --remove`` forgets it in the CIB and the caches;
        whatever still runs in its namespace is killed and the namespace
        deleted.  Its directory stays, for post-mortems.  Returns its name.
        """
        if self.config.nodes < 2:
            raise LabError("the last node of a lab cannot be removed: `down` takes it down")
        node = self.nodes[-1]
        self.stop_pacemaker(node, timeout=timeout)
        record = self.state().latest(node, "corosync")
        stopping = [record.id] if record is not None and processes.is_alive(record.id) else []
        if processes.stop(stopping, grace=30.0):
            raise LabError(f"{node}: corosync survived SIGKILL")
        config = dataclasses.replace(self.config, nodes=self.config.nodes - 1)
        layout = Layout.create(self.workdir, config.nodes, config.subnet)
        namespace = self.layout.namespace(node)
        inode = self.state().namespaces.get(namespace)
        for member in layout.nodes:
            nodedirs.write_corosync_conf(layout, member)
        running = [n for n in layout.nodes if self.is_running(n, "corosync")]
        for member in running:
            self.exec(member, ["corosync-cfgtool", "-R"], timeout=30, check=True)
        self.layout, self.config = layout, config
        if running:
            self.exec(running[0], ["crm_node", "--force", "--remove", node], timeout=60, check=True)
            if config.fencing:
                self._fence_every_node(running[0])
        left = processes.kill(processes.in_namespaces([inode] if inode is not None else []))
        if left:
            raise LabError(f"{node}: processes {left} survived SIGKILL")
        self._reap()
        problems = network.delete([namespace])
        if problems:
            raise LabError(f"{node}: " + "; ".join(problems))
        with self._store.update() as saved:
            saved.config = config
            saved.processes = [r for r in saved.processes if r.node != node]
            saved.namespaces.pop(namespace, None)
            if node in saved.links_down:
                saved.links_down.remove(node)
        self.progress.step(f"{node}: removed from the cluster")
        return node

    def _fence_every_node(self, via: str) -> None:
        """The fence device's host list: every node of the lab."""
        argv = ["crm_resource", "--resource", render.FENCE_DEVICE_ID, "--set-parameter",
                "pcmk_host_list", "--parameter-value", " ".join(self.nodes)]  # fmt: skip
        self.exec(via, argv, timeout=60, check=True)

    # -- ganesha ---------------------------------------------------------------------------

    def _require_ganesha(self) -> None:
        if not self.config.ganesha:
            raise LabError("this lab was brought up without ganesha (`up --ganesha`)")

    def _start_bus(self, node: str) -> None:
        socket = self.layout.bus_socket(node)
        socket.unlink(missing_ok=True)
        self._spawn(node, "dbus", ganesha.dbus_argv(self.node_dir(node) / "dbus.conf"), "dbus.out")
        self.wait_for(socket.exists, 10.0, f"{node}: system bus socket", interval=0.01)

    def _spawn_ganesha(self, node: str) -> None:
        home = self.node_dir(node)
        self._spawn(
            node,
            "ganesha",
            ganesha.ganesha_argv(
                home / "ganesha.conf", home / "ganesha.log", self.config.ganesha_pid_file
            ),
            "ganesha.out",
        )

    def ganesha_in_grace(self, node: str) -> bool | None:
        """ganesha's answer to get_grace on ``node``'s bus; None when it does not answer."""
        self._require_ganesha()
        return ganesha.in_grace(self.layout.bus_socket(node))

    def start_ganesha(self, node: str, timeout: float = 20.0) -> None:
        """Start the node's bus (if down) and ganesha.nfsd, and wait until ganesha answers."""
        self._require_ganesha()
        if not self.is_running(node, "dbus"):
            self._start_bus(node)
        if not ganesha.daemons(self._netns_inode(node)):
            self._spawn_ganesha(node)
        self.wait_for(
            lambda: self.ganesha_in_grace(node) is not None,
            timeout,
            f"{node}: ganesha answering on its bus",
            interval=0.02,
        )
        self.progress.step(f"{node}: ganesha started")

    def kill_ganesha(self, node: str, sig: int = signal.SIGKILL) -> list[int]:
        """Signal every ganesha.nfsd on ``node`` (whoever started it); returns their pids.

        For signals that end it (KILL, TERM, INT, QUIT) it waits until they are gone.
        """
        self._require_ganesha()
        targets = processes.send(ganesha.daemons(self._netns_inode(node)), sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            left = processes.wait_gone(targets, 15.0)
            if left:
                raise LabTimeout(f"{node}: ganesha.nfsd {left} still running after signal {sig}")
            self._reap({p.pid for p in targets}, 15.0)
        self.progress.step(f"{node}: ganesha.nfsd {[p.pid for p in targets]} sent signal {sig}")
        return [p.pid for p in targets]

    def _netns_inode(self, node: str) -> int:
        return self.state().namespaces[self.layout.namespace(node)]

    # -- diagnosis ----------------------------------------------------------------------

    def logs(self, node: str, lines: int = 40) -> str:
        """The tail of each of ``node``'s logs, headed by file name: for failure reports."""
        return diagnosis.node_logs(self.layout, node, lines)

    def report(self, lines: int = 40) -> str:
        """crm_mon from a live node, the fence log and every node's logs."""
        parts = [f"===== lab {self.layout.lab_id} in {self.workdir}"]
        try:
            parts.append(self.crm_mon())
        except (LabError, OSError) as error:
            parts.append(f"(no crm_mon: {error})")
        fence_log = diagnosis.tail(self.layout.fence_log, lines)
        if fence_log:
            parts.append(f"----- fence.log\n{fence_log}")
        parts += [self.logs(node, lines) for node in self.nodes]
        return "\n".join(parts)

    # -- taking down ---------------------------------------------------------------------

    def down(self, *, graceful: bool = True) -> None:
        """Stop everything the lab started and remove its namespaces; safe to repeat.

        Without a working directory the lab is still found by its
        namespaces; with one that someone other than root could have
        written, nothing is done (:class:`~ocfkit.lab.workdir.UnsafeWorkdir`).
        """
        self.progress.begin(f"lab {self.layout.lab_id}: taking down {self.workdir}")
        state = None
        if os.path.lexists(self.workdir):
            with self._store.locked():
                state = self._store.load()
        problems = teardown(
            self.layout, state, self.progress, graceful=graceful, settle=self._settle_quietly
        )
        self._reap()
        if state is not None:
            with self._store.locked():
                state.phase = "down"
                state.processes = []
                state.namespaces = {}
                state.links_down = []
                state.host_files = []
                self._store.save(state)
        if problems:
            raise LabError("lab down left things behind:\n" + "\n".join(problems))
        self.progress.step(f"lab down in {self.progress.elapsed():.2f}s")

    def __enter__(self) -> Lab:
        try:
            self.up()
        except UnsafeWorkdir:
            raise  # nothing was started, and nothing in there may be trusted
        except BaseException:
            self.down(graceful=False)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.down()


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_env(env: Mapping[str, str]) -> dict[str, str]:
    """Names a shell would accept, values without NUL: what execve can pass on."""
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise ValueError(f"{name!r} is not an environment variable name")
        if "\0" in value:
            raise ValueError(f"the value of {name} contains a NUL character")
    return dict(env)


def _check_recovery_root(template: str) -> str:
    """An absolute path naming each node (``{node}``) with nothing ganesha.conf would misread."""
    example = template.replace("{node}", "node1")
    if (
        "{node}" not in template
        or not example.startswith("/")
        or not re.fullmatch(r"/[A-Za-z0-9._/+-]*", example)
    ):
        raise ValueError(
            f"recovery_root must be an absolute path containing {{node}}, made of letters, "
            f"digits and . _ / + -, not {template!r}"
        )
    return template


def _check_shared_export(path: str) -> str:
    """An absolute path with nothing ganesha.conf would misread."""
    if not re.fullmatch(r"/[A-Za-z0-9._/+-]*", path) or ".." in path.split("/"):
        raise ValueError(
            f"shared_export must be an absolute path made of letters, digits and . _ / + -, "
            f"not {path!r}"
        )
    return path


def _check_traversable(path: Path) -> None:
    """Every directory up to ``path`` must let hacluster in: it runs agents' meta-data."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise LabError(
                f"{directory} (mode {stat.filemode(mode)}) cannot be entered by hacluster, which "
                f"must reach the agents installed under {path}: choose another working directory "
                "(e.g. under /var/tmp)"
            )
