"""Everything the ganesha agents do to the outside world goes through these backends.

``protocols`` says what the agents need; ``attrd`` and ``ganesha`` are the
real implementations (Pacemaker's attribute tools, nfs-ganesha's pid file and
D-Bus interface); ``ganesha_agents.fakes`` holds the in-memory ones.
"""
