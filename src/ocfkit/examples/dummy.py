"""An example agent, written the way an ocfkit user would write one.

It manages nothing: it records in a state file whether it was started, like
resource-agents' ``Dummy``, and is both a template and the agent the
framework's own conformance and benchmark runs use.
"""

from __future__ import annotations

from ocfkit import (
    ConfigurationError,
    ExitCode,
    Integer,
    Parameters,
    ResourceAgent,
    action,
    entry_point,
    parameter,
)
from ocfkit.state import FileState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.state import InstanceState


class DummyParameters(Parameters):
    state: str | None = parameter(
        default=None,
        locates=True,  # unusable, it means this configuration cannot have started anything
        shortdesc="State file",
        longdesc=(
            "Where the agent records that the resource runs.  By default a file "
            "named after the instance under HA_RSCTMP (/run/resource-agents), "
            "which is emptied at boot, exactly when the cluster forgets too."
        ),
    )
    fake: str = parameter(
        default="dummy",
        shortdesc="Fake attribute",
        longdesc="A value with no effect, written to the state file on start.",
    )
    op_sleep: int = parameter(
        default=0,
        type=Integer(min=0),
        shortdesc="Seconds start and stop take",
        longdesc=(
            "Makes start and stop take this long, to watch timeouts at work; "
            "the wait never runs past the action's deadline."
        ),
    )


class Dummy(ResourceAgent[DummyParameters]):
    """Example agent that only records whether it runs

    Starting writes a state file, stopping removes it and monitoring checks
    for it.  Use it to try a cluster configuration, or as the template of a
    new agent.
    """

    name = "dummy"
    version = "1.0"
    parameters = DummyParameters

    def validate(self) -> None:
        if self.params.state is not None and not self.params.state.startswith("/"):
            raise ConfigurationError(
                f"state must be an absolute path, not {self.params.state!r}", parameters=["state"]
            )

    @property
    def state_file(self) -> InstanceState:
        return FileState(self.params.state) if self.params.state else self.state

    @action(timeout=20)
    def start(self) -> ExitCode:
        self.deadline.sleep(self.params.op_sleep)
        self.state_file.write(self.params.fake + "\n")
        self.log.info("started")
        return ExitCode.SUCCESS

    @action(timeout=20)
    def stop(self) -> ExitCode:
        self.deadline.sleep(self.params.op_sleep)
        self.state_file.remove()
        self.log.info("stopped")
        return ExitCode.SUCCESS

    @action(timeout=20, interval=10, depth=0)
    def monitor(self) -> ExitCode:
        if self.state_file.read() is None:
            return ExitCode.NOT_RUNNING
        return ExitCode.SUCCESS

    @action(timeout=20)
    def notify(self) -> ExitCode:
        note = self.notification
        self.log.info("notified %s (started: %s)", note.event, " ".join(note.unames(note.start)))
        return ExitCode.SUCCESS


main = entry_point(Dummy)

if __name__ == "__main__":
    raise SystemExit(main())
