"""The failover demo: the seed's four-node example, run on built-in fakes in virtual time.

``model`` is the only invented part: what Pacemaker decides for the
configuration ganesha-ha.sh builds.  The agents are the real classes, run
through ``main()`` with the OCF environments Pacemaker would set.
"""
