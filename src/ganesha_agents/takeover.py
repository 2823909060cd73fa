"""ganesha_takeover: a virtual IP moves only into a cluster that is in confirmed NFS grace.

One promotable clone per virtual IP (``N-takeover-clone``) runs on every node;
its promoted instance is the node that holds the address, and the address is
colocated with the promoted role and ordered after the promote.  So every
move of the address, whatever caused it (a dead ganesha.nfsd, a node lost
and fenced by the cluster or from outside, ``crm_resource --move``, standby,
failback), is a demote on the old holder and a promote on the new one, and
Pacemaker runs three steps in order before the address is configured:

1. on every node with an instance but the old and new holders, the local
   ganesha.nfsd enters plain grace (``0:``), confirmed with ``get_grace()``,
   within ``grace_budget`` seconds (CTDB's ``startipreallocate``): at the
   pre-demote notification, which Pacemaker runs while the address stops,
   when the move has a demote (the old holder alive, or lost and fenced by
   the cluster); at the pre-promote one when it has none (the holder fenced
   from outside);
2. demote on the old holder, if it is alive: ``2:<ADDR>`` puts it in grace
   and releases the NFSv4.0 clients of the address there, then one
   ``2:<owner>`` per NFSv4.1 client that used the address (found from its
   sockets and ganesha's recovery records, :mod:`ganesha_agents.backends.v4clients`)
   releases their opens and locks, so the new holder can grant their
   reclaims (CTDB's ``releaseip``);
3. promote on the new holder: it takes over the clients recorded for the
   address (``5:<ADDR>``, CTDB's ``takeip``), confirms it is in grace, and
   only then records itself as the address's holder.  A node that cannot be
   put in grace fails the promote, and the address goes elsewhere.

Records are kept per address (see :mod:`ganesha_agents.backends.records`):
which node's recovery records hold the address's clients is a link on the
shared state volume, written by the new holder after its takeover is
confirmed and read by the next one, so it survives the holder's death on
every path, including external fencing, where Pacemaker's notifications
name no previous holder.

Nothing is slept: the order is Pacemaker's, and each grace step is bounded.
"""

from __future__ import annotations

from ganesha_agents.common import GaneshaAgent, check_absolute_path, pid_file_parameter
from ocfkit import (
    ConfigurationError,
    ExitCode,
    GenericError,
    Integer,
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

    from ganesha_agents.backends.protocols import AddressClients, AddressRecords
    from ganesha_agents.backends.v4clients import AddressUse

PLAIN_GRACE = "0:"
RELEASE = "2:"
TAKE_OVER = "5:"
#: What the state file says while this instance holds the address.
PROMOTED = "promoted"
UNPROMOTED = "unpromoted"


class TakeoverParameters(Parameters):
    ip: str = parameter(
        locates=True,
        shortdesc="The virtual IP this clone takes over",
        longdesc=(
            "The address of the virtual IP that is colocated with this clone's promoted role. "
            "Its clients' recovery records are taken over under this name (grace event 5)."
        ),
    )
    ha_vol_mnt: str = parameter(
        default="",
        shortdesc="Mount point of the shared state volume",
        longdesc=(
            "Where the shared state volume is mounted, at the same path on every node "
            "(GlusterFS 3.7's ha_vol_mnt).  Each node's ganesha keeps its recovery records in "
            "<ha_vol_mnt>/nfs-ganesha/<node>/nfs/ganesha (its RecoveryRoot, directly or through "
            "/var/lib/nfs), and nfs-ganesha/.addresses records, per address, whose records hold "
            "that address's clients.  Empty: no records are taken over, every move is plain "
            "grace."
        ),
    )
    grace_budget: int = parameter(
        default=3,
        type=Integer(min=1),
        shortdesc="Seconds one grace step may take",
        longdesc=(
            "The most a grace call and its confirmation (get_grace) may take together, retries "
            "included.  A node that other nodes cannot wait for longer is reported and skipped.  "
            "On a demote, the release of the address's clients by owner that follows gets as "
            "much again."
        ),
    )
    pid_file: str | None = pid_file_parameter("")


class GaneshaTakeover(GaneshaAgent[TakeoverParameters]):
    """Puts the cluster in NFS grace before a virtual IP moves, and hands its clients over

    Run as a promotable clone per virtual IP, with the address colocated with
    the promoted role and started after the promote.  Before any promote, every
    other node's ganesha.nfsd enters grace (pre-demote notification, or
    pre-promote when nothing is demoted; confirmed by get_grace); the demote
    releases the address's clients on the old holder;
    the promote takes over the clients recorded for the address on the shared
    state volume and confirms grace before the address is configured.
    """

    name = "ganesha_takeover"
    parameters = TakeoverParameters
    notify_events = frozenset({"pre-demote", "pre-promote"})
    notify_settled_by = {"pre-promote": "demote"}

    def __init__(
        self,
        *,
        records: AddressRecords | None = None,
        clients: AddressClients | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._records = records
        self._clients = clients

    @classmethod
    def conformance_factory(cls) -> Callable[[], GaneshaAgent[Any]]:
        """A healthy simulated node whose address records are in memory."""
        from ganesha_agents.fakes import (
            FakeAddressClients,
            FakeAddressRecords,
            FakeAttributeStore,
            FakeNFSDaemon,
        )
        from ocfkit.testing import FakeClock, MemoryStateStore

        clock = FakeClock()
        records = FakeAddressRecords(clock)
        daemon = FakeNFSDaemon("node1", clock, records=lambda a: records.read("node1", a))
        state = MemoryStateStore()

        def make() -> GaneshaAgent[Any]:
            return cls(
                attributes=FakeAttributeStore(clock).for_node("node1"),
                daemon=daemon,
                records=records.for_node("node1"),
                clients=FakeAddressClients(clock),
                clock=clock,
                state_store=state,
                node_name="node1",
            )

        return make

    def validate(self) -> None:
        if not _is_ip_address(self.params.ip):
            raise ConfigurationError(f"ip must be an IPv4 or IPv6 address, not {self.params.ip!r}")
        self.check_pid_file()
        check_absolute_path("ha_vol_mnt", self.params.ha_vol_mnt)

    @property
    def records(self) -> AddressRecords | None:
        """The address records on shared storage; None when none are configured."""
        if self._records is None and self.params.ha_vol_mnt:
            from ganesha_agents.backends.records import AddressLinks

            self._records = AddressLinks(self.params.ha_vol_mnt, self.node_name)
        return self._records

    @property
    def clients(self) -> AddressClients | None:
        """Who used the address here (sockets, recovery records); None without records."""
        if self._clients is None and self.params.ha_vol_mnt:
            from ganesha_agents.backends.v4clients import NodeClients

            records = self.records
            assert records is not None
            self._clients = NodeClients(records.own_root())
        return self._clients

    @property
    def promoted(self) -> bool:
        return self.state.read() == PROMOTED

    # ------------------------------------------------------------ life cycle

    @action(timeout=20)
    def start(self) -> ExitCode:
        if not self.started:
            self.state.write(UNPROMOTED)
        return ExitCode.SUCCESS

    @action(timeout=20)
    def stop(self) -> ExitCode:
        self.state.remove()
        return ExitCode.SUCCESS

    @action(timeout=10, interval=30, depth=0, role="Promoted")
    @action(timeout=10, interval=31, depth=0, role="Unpromoted")
    def monitor(self) -> ExitCode:
        state = self.state.read()
        if state is None:
            return ExitCode.NOT_RUNNING
        return ExitCode.RUNNING_PROMOTED if state == PROMOTED else ExitCode.SUCCESS

    # ------------------------------------------------------------- the move

    @action(timeout=20)
    def promote(self) -> ExitCode:
        """Take the address's clients over in confirmed grace, then record this node as holder."""
        if self.promoted:
            return ExitCode.SUCCESS
        ip = self.params.ip
        previous, own = self.read_records()
        if previous is not None and own is not None:
            # Also when the record names this node: its demote may have released the
            # address's clients (2:), and only a takeover reloads their records.
            self.log.info("taking over %s: its clients are recorded in %s", ip, previous)
            argument = TAKE_OVER + ip
            self.lead_to_record()
        else:
            self.log.info("taking %s: no records of its clients to take over", ip)
            argument = PLAIN_GRACE
        try:
            self.daemon.enter_grace(argument, budget=self.params.grace_budget)
        except OCFError as error:
            raise GenericError(
                f"ganesha.nfsd here cannot take over {ip} in grace: {error.reason}"
            ) from error
        if own is not None:
            self.claim(own)
        self.state.write(PROMOTED)
        return ExitCode.SUCCESS

    @action(timeout=20)
    def demote(self) -> ExitCode:
        """Release the address's clients here, in confirmed grace; never fails.

        The address has already stopped here.  ``2:<ADDR>`` also starts grace,
        which matters when this node stays up (a move, standby): it is one of
        the servers that must be in grace before the address answers elsewhere,
        and the grace round of the other nodes leaves it out.  Then the clients
        that used the address are released by owner (:meth:`release_clients`),
        or their locks would stay here, in the kernel of a shared file system
        too, until their lease runs out, and the new holder would refuse their
        reclaims meanwhile.  A failure is logged, never returned: a failed
        demote would only add a recovery to the move.
        """
        if self.started:
            self.state.write(UNPROMOTED)
        if not self._daemon_alive():
            return ExitCode.SUCCESS
        try:
            self.daemon.enter_grace(RELEASE + self.params.ip, budget=self.params.grace_budget)
        except OCFError as error:
            self.log.error(
                "releasing %s here failed, and this ganesha.nfsd is NOT confirmed in grace: %s",
                self.params.ip,
                error.reason,
            )
            return ExitCode.SUCCESS
        self.release_clients()
        return ExitCode.SUCCESS

    @action(timeout=20)
    def notify(self) -> ExitCode:
        """Every node but the old and new holders enters grace before the address moves.  Always 0.

        At the pre-demote round when the move has a demote (the old holder is
        alive): that round runs while the address is still being stopped, so
        its grace calls cost the move nothing, as CTDB's ``startipreallocate``
        comes before its ``releaseip``; the pre-promote round of such a move is
        then answered at once (:attr:`notify_settled_by`).  At the pre-promote
        round when nothing is demoted (the old holder is gone: node lost,
        fenced from outside).
        """
        note = self.notification
        moving_to = note.unames(note.promote)
        if not moving_to or self.node_name in moving_to:
            return ExitCode.SUCCESS
        if note.event == "pre-demote" and self.node_name in note.unames(note.demote):
            return ExitCode.SUCCESS  # the demote's 2: starts grace here
        if not self._daemon_alive():
            self.log.info("ganesha.nfsd is not running here: it will start in grace")
            return ExitCode.SUCCESS
        try:
            self.daemon.enter_grace(PLAIN_GRACE, budget=self.params.grace_budget)
        except OCFError as error:
            self.log.error(
                "%s moves to %s while ganesha.nfsd here is NOT confirmed in grace: %s",
                self.params.ip,
                " ".join(moving_to),
                error.reason,
            )
        return ExitCode.SUCCESS

    # ----------------------------------------------------------------- clients

    def release_clients(self) -> None:
        """``2:<owner>`` for every client that used the address here, within ``grace_budget``.

        ganesha expires each client whose owner contains the text (its
        opens, locks and sessions go, its recovery record stays, so the new
        holder's takeover still lets it reclaim).  What cannot be released in
        time, or by name, keeps its state here until its lease runs out.
        """
        clients = self.clients
        if clients is None:
            return
        ip = self.params.ip
        end = self.clock.monotonic() + self.params.grace_budget
        use = self._use_of(clients, ip, self.params.grace_budget)
        if use is None:
            return
        from ganesha_agents.backends.v4clients import release_plan

        plan = release_plan(use)
        for reason in plan.kept:
            self.log.warning(
                "a client of %s keeps its state here until its lease runs out: %s", ip, reason
            )
        released: list[str] = []
        for number, owner in enumerate(plan.owners):
            left = end - self.clock.monotonic()
            if left <= 0:
                self.log.error(
                    "out of time releasing the clients of %s: %d keep their state here until "
                    "their lease runs out",
                    ip,
                    len(plan.owners) - number,
                )
                break
            try:
                self.daemon.grace(RELEASE + owner, budget=left)
            except OCFError as error:
                self.log.error("the client %r of %s not released: %s", owner, ip, error.reason)
                continue
            released.append(owner)
        if released:
            self.log.info(
                "released %d client(s) of %s here: %s",
                len(released),
                ip,
                ", ".join(repr(o) for o in released),
            )
        elif not plan.kept:
            self.log.info("no client of %s to release here by owner", ip)

    def _use_of(self, clients: AddressClients, ip: str, seconds: float) -> AddressUse | None:
        """``clients.use_of(ip)``, given up after ``seconds`` (a hung shared volume)."""
        import threading

        outcome: list[AddressUse | OCFError | OSError] = []

        def look() -> None:
            try:
                outcome.append(clients.use_of(ip))
            except (OCFError, OSError) as error:
                outcome.append(error)

        worker = threading.Thread(target=look, name="address-clients", daemon=True)
        worker.start()
        worker.join(seconds)
        if not outcome:
            self.log.error(
                "the clients of %s here could not be listed within %gs: they keep their state "
                "here until their lease runs out",
                ip,
                seconds,
            )
            return None
        found = outcome[0]
        if isinstance(found, OCFError):
            self.log.error("the clients of %s here cannot be listed: %s", ip, found.reason)
            return None
        if isinstance(found, OSError):
            self.log.error("the clients of %s here cannot be listed: %s", ip, found)
            return None
        return found

    # ----------------------------------------------------------------- records

    def read_records(self) -> tuple[str | None, str | None]:
        """(previous holder's recovery root, this node's), or Nones when they cannot be had."""
        records = self.records
        if records is None:
            return None, None
        try:
            return records.holder(self.params.ip), records.own_root()
        except OCFError as error:
            self.log.error(
                "the address records cannot be read (%s): %s comes up in plain grace and its "
                "clients cannot reclaim",
                error.reason,
                self.params.ip,
            )
            return None, None

    def lead_to_record(self) -> None:
        records = self.records
        assert records is not None
        try:
            records.lead_to_record(self.params.ip)
        except OCFError as error:
            self.log.error("%s: %s", self.params.ip, error.reason)

    def claim(self, own: str) -> None:
        records = self.records
        assert records is not None
        try:
            records.claim(self.params.ip, own)
        except OCFError as error:
            self.log.error(
                "%s is taken over but not recorded as held here (%s): the next move will "
                "take over older records",
                self.params.ip,
                error.reason,
            )

    def _daemon_alive(self) -> bool:
        return self.daemon.is_alive()


def _is_ip_address(text: str) -> bool:
    """IPv4 or IPv6, checked by the C library (no ``ipaddress`` import on the monitor path)."""
    import _socket

    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.inet_pton(family, text)
        except (OSError, ValueError):
            continue
        return True
    return False


main = entry_point(GaneshaTakeover)

if __name__ == "__main__":
    raise SystemExit(main())
