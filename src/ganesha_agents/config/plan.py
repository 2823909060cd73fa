"""What to configure for a :class:`~ganesha_agents.config.spec.ClusterSpec`, by layout.

:mod:`ganesha_agents.config.takeover` (the default) and
:mod:`ganesha_agents.config.gluster37` hold the decisions and the reasons for
them; :mod:`ganesha_agents.config.parts` what the two share.
"""

from __future__ import annotations

from ganesha_agents.config import gluster37, takeover
from ganesha_agents.config.model import Configuration
from ganesha_agents.config.parts import failover_order, failover_targets, preferences
from ganesha_agents.config.spec import ClusterSpec, Layout

__all__ = ["failover_order", "failover_targets", "plan", "preferences"]


def plan(spec: ClusterSpec) -> Configuration:
    """The whole configuration for ``spec``, in the layout it asks for."""
    if spec.layout is Layout.GLUSTER_37:
        return gluster37.plan(spec)
    return takeover.plan(spec)
