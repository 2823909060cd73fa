"""Which system bus the agents talk to: ``DBUS_SYSTEM_BUS_ADDRESS`` is input, not an order.

A grace call tells ganesha to take over another node's clients, and its
answer says whether grace began.  Whoever runs the bus the agent connects
to receives those calls and can answer them: a bus of someone else's could
make the agent believe grace began when it did not, and the cluster would
then move a virtual IP to a server that is not in grace.  So root's agents
talk only to a bus that only root could have put there.

The variable comes from Pacemaker's environment, which root sets, but a
value is still checked, never trusted as it stands.  Accepted are:

- no ``DBUS_SYSTEM_BUS_ADDRESS``, or an empty one: the system bus at
  ``/var/run/dbus/system_bus_socket``, as for every D-Bus client;
- ``unix:path=/absolute/path``: one address, that one key, the path written
  in the characters D-Bus leaves unescaped (``A-Z a-z 0-9 _ - . /``);

and either way only when the socket is root's and it and every directory
leading to it are root's alone (:mod:`ocfkit.trust`).  Everything else is
refused before any connection is made, with ``OCF_ERR_CONFIGURED`` and the
reason: ``tcp:`` and ``nonce-tcp:`` (no peer credentials: anyone on the
network could be the bus), ``unix:abstract=`` (any local user can bind an
abstract name), ``unixexec:`` and ``autolaunch:`` (they run programs),
``launchd:`` and ``systemd:``, and lists of addresses.

The agents never widen who may call ganesha: they are only clients, write
no bus policy and use ganesha's admin interface as root, which ganesha's
own policy (``/etc/dbus-1/system.d/nfs-ganesha-dbus.conf``) requires.
"""

from __future__ import annotations

import os
import stat

from ocfkit.errors import ConfigurationError
from ocfkit.trust import owner_name, why_untrusted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ganesha_agents.backends.dbus import AdminProxy

DEFAULT_SOCKET = "/var/run/dbus/system_bus_socket"
_PREFIX = "unix:path="
# What D-Bus leaves unescaped in an address, less "*" and "\\" (no re: ganesha_mon's monitor
# builds the daemon backend, and so imports this module, every few seconds).
_PATH_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-")


class UnsafeBusAddress(ConfigurationError):
    """The bus address is not one the agents accept (see the module)."""


def socket_path(address: str) -> str:
    """The socket named by an accepted address; :class:`UnsafeBusAddress` for any other."""
    if not address:
        return DEFAULT_SOCKET
    path = address[len(_PREFIX) :] if address.startswith(_PREFIX) else ""
    if not path.startswith("/") or not _PATH_CHARACTERS.issuperset(path):
        shown = address if address.isprintable() else repr(address)
        raise UnsafeBusAddress(
            f"refusing the D-Bus address {shown[:200]} (DBUS_SYSTEM_BUS_ADDRESS): only "
            "unix:path=/absolute/path is accepted, with letters, digits and _ - . / in the path"
        )
    return path


def check_socket(path: str) -> None:
    """:class:`UnsafeBusAddress` unless the socket at ``path`` could only be root's bus.

    A socket that is not there (the bus restarting) passes when only root
    could create it: connecting then fails as for any absent bus, and is
    tried again.
    """
    reason = why_untrusted(path, missing_ok=True)
    if reason is None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode):
            reason = f"{path} is not a socket"
        elif info.st_uid != 0:
            reason = f"{path} is owned by {owner_name(info.st_uid)}, not by root"
    if reason is not None:
        raise UnsafeBusAddress(
            f"refusing the D-Bus system bus at {path}: {reason}; only a bus that nobody but "
            "root could have started is told to begin grace"
        )


def connect(address: str, timeout: float) -> AdminProxy:
    """Open ganesha's admin object, on an accepted bus only (a ``Connector``).

    Through ``dbus-send`` when it is installed, pydbus otherwise (see
    :mod:`ganesha_agents.backends.dbussend` for why).
    """
    path = socket_path(address)
    check_socket(path)
    from ganesha_agents.backends.ganesha import default_connect

    return default_connect(f"unix:path={path}", timeout)
