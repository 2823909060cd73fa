"""The Pacemaker configuration for NFS-Ganesha HA, as CIB XML or as pcs commands.

    spec = ClusterSpec(nodes=[NodeAddress.parse("node1=192.168.77.201"), ...])
    config = plan(spec)            # what to configure, in neither dialect
    cib.render(config)             # <configuration> for cibadmin --modify
    pcs.script(config)             # the same as pcs commands

Two layouts (``ClusterSpec.layout``): :mod:`.takeover` (the default: one
promotable ganesha_takeover clone per virtual IP) and :mod:`.gluster37`
(GlusterFS 3.7's nfs-grace clone); each module holds its decisions and the
reasons for them.  :mod:`.cib` and :mod:`.pcs` say how each dialect is loaded.
"""

from ganesha_agents.config import cib, pcs
from ganesha_agents.config.plan import failover_targets, plan, preferences
from ganesha_agents.config.spec import ClusterSpec, Layout, NfsdMode, NodeAddress, Timing

__all__ = [
    "ClusterSpec",
    "Layout",
    "NfsdMode",
    "NodeAddress",
    "Timing",
    "cib",
    "failover_targets",
    "pcs",
    "plan",
    "preferences",
]
