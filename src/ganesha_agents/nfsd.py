"""ganesha_nfsd: this node's NFS state on the shared state volume, so its records outlive the node.

Cloned on every node, started before ganesha_mon.  ganesha.nfsd keeps a
record of every NFSv4 client under its ``RecoveryRoot``; after a failure the
node that takes over an address reads the dead node's records there and
lets those clients reclaim their state.  That only works when the records
are on storage every node sees: the shared state volume mounted at
``ha_vol_mnt`` (GlusterFS 3.7's name), laid out as
:mod:`ganesha_agents.state_volume` describes.

Two modes:

- ``link`` (GlusterFS 3.7's way): ``/var/lib/nfs`` becomes a link to
  ``<ha_vol_mnt>/nfs-ganesha/<node>/nfs``, so ganesha's default
  ``RecoveryRoot`` (``/var/lib/nfs/ganesha``) is on the volume.  The
  node's own ``/var/lib/nfs`` is set aside, not copied, and put back by
  stop.  The switch is made of single atomic steps
  (:mod:`ganesha_agents.nfs_state`), so a start or stop interrupted anywhere
  is completed (or undone) by the next one.
- ``direct``: ganesha.conf sets ``RecoveryRoot`` to
  ``<ha_vol_mnt>/nfs-ganesha/<node>/nfs/ganesha``; the agent only makes sure
  the node's directories exist and are right, and never touches
  ``/var/lib/nfs``.

In both, start creates the node's directories on the volume when they are
missing (root's, mode 0755) and tightens a directory others may write; stop
never touches the volume (the records must survive), and puts back exactly
what start changed in ``/var/lib``.  The monitor answers 7 where the agent
never ran, 0 while the layout is in place, and an error naming what is
wrong (the link, the volume's mount, a directory) when it is not.
"""

from __future__ import annotations

from ganesha_agents import nfs_state
from ganesha_agents.common import GaneshaAgent
from ganesha_agents.state_volume import valid_node_name
from ocfkit import (
    ConfigurationError,
    ExitCode,
    GenericError,
    OCFError,
    Parameters,
    action,
    entry_point,
    parameter,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ganesha_agents.backends.protocols import NFSDirectory, NodeVolume

    VolumeOpener = Callable[[str], NodeVolume]

#: GlusterFS's shared storage, where 3.7 kept the state volume.
DEFAULT_HA_VOL_MNT = "/var/run/gluster/shared_storage"
LINK = "link"
DIRECT = "direct"


class NfsdParameters(Parameters):
    ha_vol_mnt: str = parameter(
        default=DEFAULT_HA_VOL_MNT,
        shortdesc="Mount point of the shared state volume",
        longdesc=(
            "Where the shared state volume is mounted, at the same path on every node "
            "(GlusterFS 3.7's ha_vol_mnt).  It must be a mount point, owned by root and not "
            "writable by group or others, reached without a link another user owns.  This "
            "node's records go to <ha_vol_mnt>/nfs-ganesha/<node>/nfs/ganesha, where <node> is "
            "the node's name in the cluster."
        ),
    )
    # A string, not a select: ocf-tester reads meta-data without saying it
    # speaks OCF 1.1, and the 1.0 DTD it checks has no select.
    mode: str = parameter(
        default=LINK,
        shortdesc="How ganesha's RecoveryRoot reaches the volume: link or direct",
        longdesc=(
            "link: /var/lib/nfs becomes a link to <ha_vol_mnt>/nfs-ganesha/<node>/nfs, so "
            "ganesha's default RecoveryRoot (/var/lib/nfs/ganesha) is on the volume; the node's "
            "own /var/lib/nfs is kept as /var/lib/nfs.ganesha_nfsd-local and put back by stop.  "
            "direct: ganesha.conf sets RecoveryRoot to <ha_vol_mnt>/nfs-ganesha/<node>/nfs/"
            "ganesha; /var/lib/nfs is never touched.  Start ganesha.nfsd after this resource in "
            "both modes: it reads its records when it starts."
        ),
    )


class GaneshaNfsd(GaneshaAgent[NfsdParameters]):
    """Keeps this node's NFS-Ganesha recovery records on the shared state volume

    Makes sure this node's directories exist on the shared state volume
    (<ha_vol_mnt>/nfs-ganesha/<node>/nfs/ganesha/{v4recov,v4old}) and, in link
    mode, links /var/lib/nfs there, so ganesha's recovery records survive the
    node and the node that takes over its addresses can let its clients
    reclaim.  Every change in /var/lib is one atomic step, so an interrupted
    start or stop is completed by the next one; stop puts back exactly what
    start changed and never touches the volume.
    """

    name = "ganesha_nfsd"
    parameters = NfsdParameters

    def __init__(
        self,
        *,
        nfs_dir: NFSDirectory | None = None,
        volumes: VolumeOpener | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._nfs_dir = nfs_dir
        self._volumes = volumes
        self._volume: NodeVolume | None = None

    @classmethod
    def conformance_factory(cls) -> Callable[[], GaneshaAgent[Any]]:
        """A node with its own /var/lib/nfs and the state volume mounted where 3.7 had it."""
        from ganesha_agents.fakes import FakeNFSDirectory, FakeVolumes
        from ocfkit.testing import FakeClock, MemoryStateStore

        clock = FakeClock()
        nfs_dir = FakeNFSDirectory()
        volumes = FakeVolumes()
        volumes.mount(DEFAULT_HA_VOL_MNT)
        state = MemoryStateStore()

        def make() -> GaneshaAgent[Any]:
            return cls(
                nfs_dir=nfs_dir,
                volumes=volumes,
                clock=clock,
                state_store=state,
                node_name="node1",
            )

        return make

    # -------------------------------------------------------------- collaborators

    @property
    def nfs_dir(self) -> NFSDirectory:
        if self._nfs_dir is None:
            from ganesha_agents.backends.nfsdir import LocalNFSDirectory

            self._nfs_dir = LocalNFSDirectory()
        return self._nfs_dir

    @property
    def volume(self) -> NodeVolume:
        if self._volume is None:
            path = self.volume_path()
            if self._volumes is None:
                from ganesha_agents.backends.nfsdir import VolumeDirectories

                self._volume = VolumeDirectories(path)
            else:
                self._volume = self._volumes(path)
        return self._volume

    def volume_path(self) -> str:
        """``ha_vol_mnt``, checked: absolute, no ``.`` or ``..``, not ``/``, not in /var/lib/nfs."""
        given = self.params.ha_vol_mnt
        parts = given.split("/")
        if not given.startswith("/") or given.startswith("//") or "." in parts or ".." in parts:
            raise ConfigurationError(
                f"ha_vol_mnt must be an absolute path without . or .., not {given!r}"
            )
        if not given.isprintable():
            raise ConfigurationError(f"ha_vol_mnt {given!r} holds characters that cannot be a path")
        path = "/" + "/".join(part for part in parts if part)
        nfs = nfs_state.path(nfs_state.NFS)
        if path == "/" or path == nfs or path.startswith(nfs + "/"):
            raise ConfigurationError(
                f"ha_vol_mnt cannot be {path}: it must be the volume's own mount"
            )
        return path

    @property
    def mode(self) -> str:
        """``mode``, checked where it is used: stop needs no mode, and must run whatever it is."""
        if self.params.mode not in (LINK, DIRECT):
            raise ConfigurationError(f"mode must be {LINK} or {DIRECT}, not {self.params.mode!r}")
        return self.params.mode

    def node(self) -> str:
        """This node's name, usable as a directory name on the volume."""
        name = self.node_name
        if not valid_node_name(name):
            raise ConfigurationError(
                f"the node's name {name!r} cannot be a directory on the volume"
            )
        return name

    # -------------------------------------------------------------------- actions

    @action(timeout=20)
    def validate_all(self) -> ExitCode:
        """The volume is mounted, safe and writable; in link mode, start would not refuse."""
        mode = self.mode
        try:
            node = self.node()
            self.log.info("state volume %s", self.volume.usable())
            if mode == LINK:
                plan = nfs_state.start_step(self.seen(), self.volume.node_nfs(node))
                if isinstance(plan, nfs_state.Refusal):
                    raise GenericError(plan.reason)
        except ConfigurationError:
            raise
        except OCFError as error:
            raise ConfigurationError(error.reason) from error
        return ExitCode.SUCCESS

    @action(timeout=30)
    def start(self) -> ExitCode:
        mode, node = self.mode, self.node()
        for change in self.volume.prepare(node):
            self.log.info("state volume: %s", change)
        if mode == LINK:
            target = self.volume.node_nfs(node)
            refusal = self.settle(
                lambda seen, exchange: nfs_state.start_step(seen, target, exchange=exchange)
            )
            if refusal is not None:
                raise GenericError(refusal.reason)
            if not nfs_state.owned(self.seen()):
                self.log.info(
                    "%s already led to %s; stop will leave it as found",
                    nfs_state.path(nfs_state.NFS),
                    target,
                )
        self.state.write(mode)
        return ExitCode.SUCCESS

    @action(timeout=30)
    def stop(self) -> ExitCode:
        """Put back what start changed in /var/lib (whatever the mode now); never the volume."""
        try:
            self.seen()
        except _CannotLook as error:
            # Nothing can be changed safely, so nothing is: not a failed stop.
            self.log.error("stop changes nothing: %s", error.reason)
            self.state.remove()
            return ExitCode.SUCCESS
        refusal = self.settle(lambda seen, exchange: nfs_state.stop_step(seen, exchange=exchange))
        if refusal is not None:
            self.log.error("stop leaves /var/lib as it is: %s", refusal.reason)
        self.state.remove()
        return ExitCode.SUCCESS

    @action(timeout=20, interval=20, depth=0)
    def monitor(self) -> ExitCode:
        if self.mode == DIRECT:
            if not self.started:
                return ExitCode.NOT_RUNNING
            self.check_volume(self.node())
            return ExitCode.SUCCESS
        seen = self.seen()
        # A switch on disk is this agent's doing even when the state file is
        # gone (it lives in HA_RSCTMP, cleared at boot): report it, so that
        # Pacemaker stops it where it should not run.
        if not self.started and not nfs_state.owned(seen):
            return ExitCode.NOT_RUNNING
        node = self.node()
        wrong = nfs_state.problem(seen, self.volume.node_nfs(node))
        if wrong is not None:
            raise GenericError(wrong)
        self.check_volume(node)
        return ExitCode.SUCCESS

    # -------------------------------------------------------------------- helpers

    def check_volume(self, node: str) -> None:
        problems = self.volume.problems(node)
        if problems:
            raise GenericError("state volume: " + "; ".join(problems))

    def seen(self) -> nfs_state.Seen:
        """What the three names in /var/lib are now."""
        try:
            return {name: self.nfs_dir.inspect(name) for name in nfs_state.NAMES}
        except OCFError as error:
            raise _CannotLook(error.reason) from error

    def settle(
        self, plan: Callable[[nfs_state.Seen, bool], nfs_state.Plan]
    ) -> nfs_state.Refusal | None:
        """Take the planned steps one at a time, looking again after each; the refusal, if any."""
        exchange = True
        for _ in range(nfs_state.MAX_STEPS):
            seen = self.seen()
            step = plan(seen, exchange)
            if step is None or isinstance(step, nfs_state.Refusal):
                return step
            if step.op != "exchange":
                self.apply(step)
            elif not self.nfs_dir.exchange(step.name, step.other or ""):
                self.log.info("this file system cannot swap two names: renaming in two steps")
                exchange = False
                continue
            self.nfs_dir.sync()
            self.log.info("%s", step)
        found = ", ".join(f"{nfs_state.path(name)} {entry}" for name, entry in seen.items())
        raise GenericError(f"{nfs_state.path(nfs_state.NFS)} did not settle: {found}")

    def apply(self, step: nfs_state.Step) -> None:
        nfs_dir = self.nfs_dir
        if step.op == "symlink":
            nfs_dir.symlink(step.name, step.target or "")
        elif step.op == "rename":
            nfs_dir.rename(step.name, step.other or "")
        elif step.op == "replace":
            nfs_dir.replace_link(step.name, step.other or "")
        elif step.op == "unlink":
            nfs_dir.unlink(step.name)
        elif step.op == "mark":
            nfs_dir.mark(step.name)
        elif step.op == "unmark":
            nfs_dir.unmark(step.name)
        else:
            raise GenericError(f"unknown step {step!r}")


class _CannotLook(GenericError):
    """/var/lib cannot be looked at (safely); nothing in it was changed."""


main = entry_point(GaneshaNfsd)

if __name__ == "__main__":
    raise SystemExit(main())
