"""``ganesha-agents status``: can the cluster lose any one node and keep serving NFS?

One ``crm_mon --output-as=xml`` call (:mod:`.query`) is parsed into a
:class:`~.model.ClusterState` (:mod:`.crm_mon`); :func:`.build.build` turns
it, with what the local node can see for itself (its ganesha.nfsd's pid
file lock, ``get_grace`` over D-Bus), into a :class:`~.model.Status`;
:func:`.verdict.judge` says whether the cluster is ready or exactly what is
missing; :mod:`.render` prints it for people or as JSON for monitoring.
Everything but :mod:`.query` is pure, so every verdict is tested from
captured crm_mon output.  Nothing here is on an agent's import path.
"""
