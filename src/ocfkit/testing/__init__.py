"""The testing kit: run agents in-process with fakes, build OCF environments, check conformance.

    from ocfkit.testing import AgentRunner, OCFEnv

    result = AgentRunner(lambda: Dummy()).invoke("monitor", OCFEnv().probe())
    assert result.code == ExitCode.NOT_RUNNING

The pytest plugin (``ocfkit.testing.pytest_plugin``, registered automatically)
provides the same as fixtures.
"""

from ocfkit.testing.environ import OCFEnv, pacemaker_list, parse_env_dump
from ocfkit.testing.fakes import FakeClock, FakeCommandRunner, MemoryStateStore, timeout_error
from ocfkit.testing.runner import AgentRunner, Result, extract_exit_reason, isolation

__all__ = [
    "AgentRunner",
    "FakeClock",
    "FakeCommandRunner",
    "MemoryStateStore",
    "OCFEnv",
    "Result",
    "extract_exit_reason",
    "isolation",
    "pacemaker_list",
    "parse_env_dump",
    "timeout_error",
]
