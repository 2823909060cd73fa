"""What ganesha_mon and ganesha_grace share: their collaborators and the node's name.

Both agents take their backends as constructor arguments; when an argument is
left out, the real backend is built on first use, from inside the running
action (it needs the action's deadline and log).  Building lazily also keeps
each action's imports to what it touches: a monitor of ganesha_mon never loads
the D-Bus client, a notify of ganesha_grace never reads a pid file.
"""

from __future__ import annotations

from ganesha_agents import __version__
from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES
from ocfkit import ConfigurationError, GenericError, Parameters, ResourceAgent, parameter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from ganesha_agents.backends.protocols import AttributeStore, NFSDaemon
    from ocfkit.clock import Clock
    from ocfkit.runner import Runner
    from ocfkit.state import StateStore

    P = TypeVar("P", bound=Parameters)
else:
    P = None


def pid_file_parameter(what: str) -> Any:
    """The ``pid_file`` parameter every ganesha agent takes; ``what`` says what it is for."""
    return parameter(
        default=None,
        shortdesc="ganesha.nfsd pid file",
        longdesc=(
            f"The pid file of the local ganesha.nfsd{what}.  By default the first that exists "
            "of " + ", ".join(DEFAULT_PID_FILES) + "."
        ),
    )


def check_absolute_path(name: str, value: str | None) -> None:
    """A path parameter, when set, must be absolute and printable.

    Printable, because the value reaches log lines and exit reasons, and a
    path with a line break or a terminal escape in it names nothing an
    operator meant.
    """
    if value and (not value.startswith("/") or not value.isprintable()):
        raise ConfigurationError(
            f"{name} must be an absolute path of printable characters, not {value!r}"
        )


class GaneshaAgent(ResourceAgent[P]):
    """Base of the two agents: backends, node name and the started marker."""

    version = __version__
    meta_data_timeout = 20

    def __init__(
        self,
        *,
        attributes: AttributeStore | None = None,
        daemon: NFSDaemon | None = None,
        clock: Clock | None = None,
        state_store: StateStore | None = None,
        runner: Runner | None = None,
        node_name: str | None = None,
    ) -> None:
        super().__init__(clock=clock, state_store=state_store, runner=runner)
        self._attributes = attributes
        self._daemon = daemon
        self._node_name = node_name

    @classmethod
    def conformance_factory(cls) -> Callable[[], GaneshaAgent[Any]]:
        """Agents wired to one healthy simulated node, for ``ocfkit check`` in-process."""
        from ganesha_agents.fakes import FakeAttributeStore, FakeNFSDaemon
        from ocfkit.testing import FakeClock, MemoryStateStore

        clock = FakeClock()
        store = FakeAttributeStore(clock)
        daemon = FakeNFSDaemon("node1", clock)
        state = MemoryStateStore()
        store.set("node1", "ganesha-active", "1")
        store.set("node1", "grace-active", "1")
        extra = cls.conformance_doubles()

        def make() -> GaneshaAgent[Any]:
            return cls(
                **extra,
                attributes=store.for_node("node1"),
                daemon=daemon,
                clock=clock,
                state_store=state,
                node_name="node1",
            )

        return make

    @classmethod
    def conformance_doubles(cls) -> dict[str, Any]:
        """Test doubles an agent takes beyond the common ones (shared by every action)."""
        return {}

    def pid_files(self) -> tuple[str, ...]:
        """Where to look for ganesha's pid file: the agent's ``pid_file``, else the known ones."""
        configured = getattr(self.params, "pid_file", None)
        return (configured,) if configured else DEFAULT_PID_FILES

    def check_pid_file(self) -> None:
        """A configured ``pid_file`` must be a path check_absolute_path accepts."""
        check_absolute_path("pid_file", getattr(self.params, "pid_file", None))

    @property
    def attributes(self) -> AttributeStore:
        if self._attributes is None:
            from ganesha_agents.backends.attrd import AttrdAttributeStore

            self._attributes = AttrdAttributeStore(self.runner, log=self.log)
        return self._attributes

    @property
    def daemon(self) -> NFSDaemon:
        if self._daemon is None:
            from ganesha_agents.backends import busaddress
            from ganesha_agents.backends.ganesha import GaneshaDaemon

            self._daemon = GaneshaDaemon(
                pid_files=self.pid_files(),
                deadline=self.deadline,
                clock=self.clock,
                log=self.log,
                # Only a bus nobody but root could have started is called.
                connect=busaddress.connect,
            )
        return self._daemon

    @property
    def node_name(self) -> str:
        """This node's cluster name: Pacemaker says it; ``crm_node -n`` otherwise.

        Never ``hostname``: an FQDN cluster broke the 3.7 agents that way.
        """
        if self._node_name is None:
            named = self.env.meta.on_node
            if named is None:
                result = self.runner.run(["crm_node", "-n"], check=True)
                named = result.stdout.strip()
                if not named:
                    raise GenericError("crm_node -n printed no node name")
            self._node_name = named
        return self._node_name

    @property
    def started(self) -> bool:
        """Whether this instance was started (and not stopped) on this node."""
        return self.state.read() is not None
