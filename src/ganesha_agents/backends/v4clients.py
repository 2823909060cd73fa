"""Which NFSv4 clients used an address on this node, by the owner string ganesha knows them by.

When an address leaves a node whose ganesha.nfsd stays up (a failback, a
move, standby), that ganesha still holds the opens and locks of the clients
that used the address, and on a shared file system it holds them in the
kernel too, so the new holder's reclaims are refused until the clients'
lease runs out here.  ganesha 4.3 releases clients from outside only with
``grace("2:<text>")`` (``nfs_start_grace`` -> ``nfs_release_v4_clients`` in
``SAL/nfs4_recovery.c``): it expires, keeping their recovery records, every
confirmed client whose owner string (``co_ownerid``) *contains* the text
(``ip_match``, a substring search; an empty text matches every client).  An
NFSv4.0 Linux client's owner carries the server address, so ``2:<ADDR>``
finds it; an NFSv4.1 owner names the client alone ("Linux NFSv4.1 host"),
so the owners must be found another way.  Two facts here give them:

- the TCP connections the clients opened to the address are still this
  node's sockets after the address was removed (removing an address closes
  nothing): ``/proc/net/tcp`` and ``tcp6`` give their peers;
- ganesha's fs recovery backend files every confirmed client (at
  ``CREATE_SESSION`` / ``SETCLIENTID_CONFIRM``) as a directory named
  ``<client address>-(<length>:<owner>)`` under ``<RecoveryRoot>/v4recov``
  (``fs_create_clid_name`` in ``SAL/recovery/recovery_fs.c``), the owner
  copied as is when it is printable without ``/``, else as ``0x`` and hex,
  and the name cut into nested directories of 255 bytes.

So the clients to release are the records whose address is a peer of the
departed address.  The match being a substring search, an owner is only
released when it is no part of the owner of a client that did not use the
address (:func:`release_plan`): such a client would lose its state too.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import struct
from dataclasses import dataclass, field

from ganesha_agents.backends import safefs

PROC_NET = "/proc/net"
#: TCP state LISTEN in /proc/net/tcp (include/net/tcp_states.h).
LISTEN = "0A"
RECOVERY_DIR = "v4recov"
#: ``<address>-(<length>:<owner>)``; the address has no "(" in any form ganesha prints.
RECORD = re.compile(r"^(?P<address>[^(]+)-\((?P<length>[0-9]+):(?P<owner>.*)\)$", re.DOTALL)
NAME_MAX = 255
#: Nested directories a record may span (ganesha's names stop at PATH_MAX).
MAX_DEPTH = 16


@dataclass(frozen=True)
class RecordedClient:
    """One client in ganesha's recovery records: where it came from and its owner string."""

    address: str
    owner: bytes


@dataclass
class AddressUse:
    """What this node knows of an address's clients: its TCP peers and every recorded client."""

    peers: set[str] = field(default_factory=set)
    records: list[RecordedClient] = field(default_factory=list)


@dataclass
class ReleasePlan:
    """The owners ``2:<owner>`` may release, and the clients that cannot be released so."""

    owners: list[str] = field(default_factory=list)
    #: Why a client of the address is left to its lease, one line each.
    kept: list[str] = field(default_factory=list)


def normal_address(text: str) -> str | None:
    """``text`` as one spelling (IPv4-mapped IPv6 as IPv4, zone dropped), None if no address."""
    try:
        parsed = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def _proc_address(field_text: str) -> str | None:
    """An ``ADDR:PORT`` of /proc/net/tcp*: 32-bit words in host byte order, in hex."""
    hexaddr = field_text.partition(":")[0]
    if len(hexaddr) not in (8, 32):
        return None
    try:
        words = [int(hexaddr[i : i + 8], 16) for i in range(0, len(hexaddr), 8)]
    except ValueError:
        return None
    raw = b"".join(struct.pack("=I", word) for word in words)
    address = ipaddress.ip_address(raw)
    return normal_address(str(address))


def peers_of(address: str, tables: list[str]) -> set[str]:
    """Remote addresses of the non-listening sockets whose local address is ``address``.

    ``tables`` are the texts of /proc/net/tcp and /proc/net/tcp6.
    """
    wanted = normal_address(address)
    peers: set[str] = set()
    for text in tables:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] == LISTEN:
                continue
            if _proc_address(fields[1]) != wanted:
                continue
            peer = _proc_address(fields[2])
            if peer is not None:
                peers.add(peer)
    return peers


def parse_record(name: str) -> RecordedClient | None:
    """A record's full name (its nested parts joined) as ganesha wrote it, or None."""
    found = RECORD.match(name)
    if found is None:
        return None
    address = normal_address(found["address"])
    text = found["owner"]
    if address is None or not text or int(found["length"]) != len(text):
        return None
    return RecordedClient(address, _owner_bytes(text))


def _owner_bytes(text: str) -> bytes:
    """The owner ganesha converted: hex only when the bytes could not be printed as they are."""
    if text.startswith("0x") and len(text) > 2 and len(text) % 2 == 0:
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raw = b""
        if raw and not _printable_as_is(raw):
            return raw
    return text.encode("latin-1", "replace")


def _printable_as_is(raw: bytes) -> bool:
    """What ganesha copies unconverted: printable (C locale isprint), no ``/``."""
    return all(0x20 <= byte < 0x7F and byte != 0x2F for byte in raw)


def release_plan(use: AddressUse) -> ReleasePlan:
    """Which owners ``2:<owner>`` can release without touching a client that did not use it.

    An owner is sent only when it is printable text (a D-Bus string, ganesha
    compares it with ``strstr``), not empty (that would release every client)
    and no part of the owner of a recorded client from an address that is not
    a peer.
    """
    plan = ReleasePlan()
    users = [r for r in use.records if r.address in use.peers]
    others = [r.owner for r in use.records if r.address not in use.peers]
    for owner in sorted({r.owner for r in users}):
        shown = owner.decode("latin-1")
        if not owner or not _sendable(owner):
            plan.kept.append(f"owner {shown!r} cannot be named in a grace call")
        elif any(owner in other for other in others):
            plan.kept.append(f"owner {shown!r} is part of another client's owner")
        else:
            plan.owners.append(owner.decode("ascii"))
    return plan


def _sendable(owner: bytes) -> bool:
    return all(0x20 <= byte < 0x7F for byte in owner)


class NodeClients:
    """The real :class:`~ganesha_agents.backends.protocols.AddressClients`: /proc and records.

    The records are read below ``recovery_root`` as :mod:`safefs` walks a
    path (root's directories only, no links followed), and only directories
    owned by root count: ganesha writes them as root, and the state volume
    may be writable by others.
    """

    def __init__(self, recovery_root: str, *, proc_net: str = PROC_NET, owner_uid: int = 0):
        self.recovery_root = recovery_root
        self.proc_net = proc_net
        self.owners = safefs.trusted_owners(owner_uid)

    def use_of(self, address: str) -> AddressUse:
        return AddressUse(peers=self.peers(address), records=self.records())

    def peers(self, address: str) -> set[str]:
        tables = []
        for name in ("tcp", "tcp6"):
            try:
                with open(os.path.join(self.proc_net, name), encoding="ascii") as table:
                    tables.append(table.read())
            except FileNotFoundError:
                continue
        return peers_of(address, tables)

    def records(self) -> list[RecordedClient]:
        path = os.path.join(self.recovery_root, RECOVERY_DIR)
        directory, resolved = safefs.open_trusted_directory(path, self.owners, "v4recov")
        found: list[RecordedClient] = []
        try:
            self._walk(directory, resolved, "", 0, found)
        finally:
            os.close(directory)
        return found

    def _walk(
        self, directory: int, here: str, prefix: str, depth: int, found: list[RecordedClient]
    ) -> None:
        for name in sorted(os.listdir(directory)):
            seen = safefs.lstat_at(directory, name, f"{here}/{name}")
            if seen is None or not stat.S_ISDIR(seen.st_mode) or seen.st_uid not in self.owners:
                continue
            full = prefix + name
            record = parse_record(full)
            if record is not None:
                found.append(record)
            if len(name) == NAME_MAX and depth < MAX_DEPTH:
                child = safefs.open_directory_at(directory, name, f"{here}/{name}")
                try:
                    self._walk(child, f"{here}/{name}", full, depth + 1, found)
                finally:
                    os.close(child)
