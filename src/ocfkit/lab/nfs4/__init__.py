"""A focused NFSv4.1 client that reclaims its state after a server restart.

Built for the lab and for operators trying a cluster by hand: it does what
a Linux client does when its server's address moves (a new client and
session, OPEN with CLAIM_PREVIOUS, LOCK with reclaim, RECLAIM_COMPLETE) and
reports each step with its timing and the server's NFS4 status.  No
userspace client could do that: libnfs (``nfs-cat``) has no reclaim, and the
maintained Python NFSv4.1 clients on PyPI expose no locks (docs/nfs-client.md).

Layers, each usable alone: :mod:`.xdr` (the types, over ``xdrlib3``),
:mod:`.rpc` (ONC RPC over TCP), :mod:`.client` (session and operations),
:mod:`.held` (an open plus a lock that survive a server restart),
:mod:`.netns` (connecting from inside a network namespace), :mod:`.cli`.

Nothing here is imported by the agents: ``xdrlib3`` comes with the
``nfs4`` extra and is loaded only when this package is.
"""
