"""How a call to ganesha.nfsd's admin object can fail, as the agents need to tell apart.

A module of its own so that an agent can name these errors without loading
the D-Bus client, and the in-memory fake can raise the same ones.
"""

from __future__ import annotations

from ocfkit.errors import GenericError


class GaneshaDBusError(GenericError):
    """A call to ganesha's admin object failed for good; the reason says why."""


class GaneshaNotRunning(GaneshaDBusError):
    """ganesha.nfsd is neither on the bus nor running by its pid file.

    A server that is not running needs no grace call: when it starts again,
    it starts in grace and reads its recovery directory.  Callers that only
    want the server in grace may treat this as nothing to do; callers that
    need this server to serve (a takeover) may not.
    """


class GraceNotConfirmed(GaneshaDBusError):
    """The server accepted a grace call, but could not be shown to be in grace afterwards."""
