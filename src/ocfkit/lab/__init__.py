"""A real Pacemaker + Corosync cluster on one machine, for trying and testing agents.

Each node is a network + mount + UTS namespace with its own corosync,
pacemakerd and, on request, a private system bus and ganesha.nfsd; the
nodes talk over a bridge that lives in a namespace of its own, so the host's
network is never touched.  :class:`Lab` is the Python API, ``ocfkit lab`` the
command line.

The names are loaded on first use: the fence agent imports
``ocfkit.lab.fence_agent`` on every fencing call and must not pay for the
facade's imports.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.lab.errors import LabError, LabTimeout
    from ocfkit.lab.lab import Lab
    from ocfkit.lab.status import ClusterStatus, FenceEvent

__all__ = ["ClusterStatus", "FenceEvent", "Lab", "LabError", "LabTimeout"]

_HOMES = {
    "Lab": "ocfkit.lab.lab",
    "LabError": "ocfkit.lab.errors",
    "LabTimeout": "ocfkit.lab.errors",
    "ClusterStatus": "ocfkit.lab.status",
    "FenceEvent": "ocfkit.lab.status",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
