"""Changing a live cluster's NFS-Ganesha HA configuration: setup, teardown, add, delete.

What GlusterFS 3.7's ganesha-ha.sh did with ``--setup``, ``--teardown``,
``--add``, ``--delete`` and ``--refresh-config``, each change made safe:

- :mod:`.cibedit` computes the whole would-be CIB from the live one, in
  memory, from the generated plan (:mod:`ganesha_agents.config`), and
  refuses with the reasons when the live configuration is not what the plan
  expects (an id taken, a constraint of someone else's on an address);
- :mod:`.pacemaker` loads it as ONE CIB update (``crm_diff`` then
  ``cibadmin --patch``, version-checked, so a CIB changed meanwhile is
  refused and the change recomputed), after ``crm_simulate`` on a copy;
- :mod:`.preflight` checks this node before anything is changed;
- :mod:`.wait` follows the cluster to the status verdict;
- :mod:`.exports` refreshes ganesha's exports over D-Bus.

A failure at any step before the update changes nothing; the update itself
is applied whole or not at all.
"""
