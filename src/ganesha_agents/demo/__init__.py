"""The demo: virtual IPs moving in a simulated cluster, on built-in fakes in virtual time.

Two layouts: the takeover layout (``takeover_model``, ``takeover_scenario``,
``takeover_render``), where every move goes through a promote of the
address's takeover clone, and GlusterFS 3.7's (``model``, ``scenario``,
``render``), the seed's four-node example.  In both, the model of
Pacemaker's decisions is the only invented part: the agents are the real
classes, run through ``main()`` with the OCF environments Pacemaker would set.
"""
