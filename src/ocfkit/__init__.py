"""ocfkit: write OCF resource agents for Pacemaker as small Python classes.

The names below are what an agent author needs; they load only the modules a
monitor action needs (lxml, subprocess and the tools load on demand).
"""

from ocfkit.actions import action
from ocfkit.agent import ResourceAgent, entry_point
from ocfkit.clock import SystemClock
from ocfkit.codes import ExitCode
from ocfkit.deadline import Deadline
from ocfkit.environment import MetaAttributes, OCFEnvironment
from ocfkit.errors import (
    AgentDefinitionError,
    ConfigurationError,
    DeadlineExceeded,
    GenericError,
    InsufficientPrivilegeError,
    InvalidArgumentError,
    NotInstalledError,
    NotRunningError,
    OCFError,
    UnimplementedError,
)
from ocfkit.params import Parameters, parameter
from ocfkit.paramtypes import Boolean, Integer, Select, String

__version__ = "0.1.0"

__all__ = [
    "AgentDefinitionError",
    "Boolean",
    "ConfigurationError",
    "Deadline",
    "DeadlineExceeded",
    "ExitCode",
    "GenericError",
    "InsufficientPrivilegeError",
    "Integer",
    "InvalidArgumentError",
    "MetaAttributes",
    "NotInstalledError",
    "NotRunningError",
    "OCFEnvironment",
    "OCFError",
    "Parameters",
    "ResourceAgent",
    "Select",
    "String",
    "SystemClock",
    "UnimplementedError",
    "action",
    "entry_point",
    "parameter",
]
