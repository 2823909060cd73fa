"""Finding the NFSv4 clients that used an address: sockets, ganesha's recovery records."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ganesha_agents.backends.v4clients import (
    AddressUse,
    NodeClients,
    RecordedClient,
    parse_record,
    peers_of,
    release_plan,
)

VIP = "192.168.77.202"
OWN = "192.168.77.201"
ANY = "0.0.0.0"  # noqa: S104 - a listening socket's address in a table, nothing binds it
HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"


def proc_hex(address: str, port: int) -> str:
    """How the kernel prints an address: 32-bit words in host byte order, %08X each."""
    raw = ipaddress.ip_address(address).packed
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def line(local: str, lport: int, remote: str, rport: int, state: str = "01") -> str:
    return f"   0: {proc_hex(local, lport)} {proc_hex(remote, rport)} {state} 0:0 00:0 0 0"


def mapped(address: str) -> str:
    return f"::ffff:{address}"


def test_peers_are_the_remote_ends_of_the_address_s_sockets() -> None:
    tcp = "\n".join(
        [
            HEADER,
            line(ANY, 2049, ANY, 0, "0A"),
            line(VIP, 2049, "192.168.77.3", 812),
            line(OWN, 2049, "192.168.77.9", 813),
            line(VIP, 2049, "192.168.77.4", 700, "08"),  # CLOSE_WAIT: still a client of it
        ]
    )
    tcp6 = "\n".join(
        [
            HEADER,
            line("::", 2049, "::", 0, "0A"),
            line(mapped(VIP), 2049, mapped("192.168.77.5"), 900),
            line("fd00::2", 2049, "fd00::7", 901),
        ]
    )
    assert peers_of(VIP, [tcp, tcp6]) == {"192.168.77.3", "192.168.77.4", "192.168.77.5"}
    assert peers_of("fd00::2", [tcp, tcp6]) == {"fd00::7"}
    assert peers_of("192.168.77.250", [tcp, tcp6]) == set()


def test_peers_of_this_machine_s_own_tables_parse() -> None:
    """The real /proc/net tables: a listening socket's address is found, and is no peer."""
    with socket.socket() as server:
        server.bind(("127.0.0.2", 0))
        server.listen()
        with socket.socket() as client:
            client.bind(("127.0.0.3", 0))
            client.connect(server.getsockname())
            accepted, _ = server.accept()
            with accepted:
                peers = NodeClients("/nonexistent").peers("127.0.0.2")
    assert peers == {"127.0.0.3"}  # the client's end, seen from the server's socket


def ganesha_name(address: str, owner: bytes) -> str:
    """A record's name as ganesha 4.3 writes it (recovery_fs.c, fs_create_clid_name)."""
    if all(0x20 <= b < 0x7F and b != 0x2F for b in owner):
        text = owner.decode("ascii")
    else:
        text = "0x" + owner.hex()
    return f"{address}-({len(text)}:{text})"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "192.168.77.3-(21:Linux NFSv4.1 node3 a)",
            RecordedClient("192.168.77.3", b"Linux NFSv4.1 node3 a"),
        ),
        ("::ffff:192.168.77.3-(3:abc)", RecordedClient("192.168.77.3", b"abc")),
        ("fd00::7-(4:0x41)", RecordedClient("fd00::7", b"0x41")),  # printable: as it was
        ("10.0.0.1-(8:0x612f62)", RecordedClient("10.0.0.1", b"a/b")),  # had a slash: hex
        ("10.0.0.1-(6:0x0001)", RecordedClient("10.0.0.1", b"\x00\x01")),
        ("10.0.0.1-(5:abc)", None),  # length does not match
        ("10.0.0.1-(0:)", None),
        ("node3-(3:abc)", None),  # not an address
        ("10.0.0.1", None),
    ],
)
def test_record_names(name: str, expected: RecordedClient | None) -> None:
    assert parse_record(name) == expected


@given(
    st.binary(min_size=1, max_size=300),
    st.sampled_from(
        [("192.168.77.3", "192.168.77.3"), ("fd00::7", "fd00::7"), ("::ffff:10.1.2.3", "10.1.2.3")]
    ),
)
def test_every_owner_ganesha_can_name_is_read_back(owner: bytes, address: tuple[str, str]) -> None:
    written, read = address
    found = parse_record(ganesha_name(written, owner))
    assert found == RecordedClient(read, owner)


def recorded(*pairs: tuple[str, str]) -> list[RecordedClient]:
    return [RecordedClient(address, owner.encode()) for address, owner in pairs]


def test_the_plan_names_the_owners_of_the_address_s_peers_only() -> None:
    use = AddressUse(
        peers={"192.168.77.3", "192.168.77.4"},
        records=recorded(
            ("192.168.77.3", "Linux NFSv4.1 node3 a"),
            ("192.168.77.4", "Linux NFSv4.1 node4 c"),
            ("192.168.77.9", "Linux NFSv4.1 node9"),
        ),
    )
    plan = release_plan(use)
    assert plan.owners == ["Linux NFSv4.1 node3 a", "Linux NFSv4.1 node4 c"]
    assert plan.kept == []


def test_an_owner_inside_another_client_s_owner_is_kept() -> None:
    """ganesha's match is a substring search: releasing "node3" would release "node30" too."""
    use = AddressUse(
        peers={"192.168.77.3", "192.168.77.4"},
        records=recorded(
            ("192.168.77.3", "Linux NFSv4.1 node3"),
            ("192.168.77.30", "Linux NFSv4.1 node30"),
            ("192.168.77.4", "Linux NFSv4.1 node4"),
        ),
    )
    plan = release_plan(use)
    assert plan.owners == ["Linux NFSv4.1 node4"]
    assert len(plan.kept) == 1 and "part of another client's owner" in plan.kept[0]


def test_owners_that_cannot_be_sent_are_kept() -> None:
    use = AddressUse(
        peers={"10.0.0.1"},
        records=[RecordedClient("10.0.0.1", b"\x00\x01"), RecordedClient("10.0.0.1", b"ok")],
    )
    plan = release_plan(use)
    assert plan.owners == ["ok"]
    assert len(plan.kept) == 1 and "cannot be named" in plan.kept[0]


def test_no_peer_no_release() -> None:
    plan = release_plan(AddressUse(peers=set(), records=recorded(("10.0.0.1", "x"))))
    assert plan.owners == [] and plan.kept == []


def mkdirs(root: Path, name: str) -> None:
    """As fs_add_clid: the name cut into nested directories of 255 bytes."""
    parts = [name[i : i + 255] for i in range(0, len(name), 255)]
    path = root
    for part in parts:
        path = path / part
        path.mkdir(mode=0o700)


def test_records_are_read_from_the_recovery_root(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    root = tmp_path / "ganesha"
    v4recov = root / "v4recov"
    v4recov.mkdir(parents=True, mode=0o755)
    root.chmod(0o755)
    long_owner = b"Linux NFSv4.1 " + b"h" * 400
    names = [
        ganesha_name("192.168.77.3", b"Linux NFSv4.1 node3 a"),
        ganesha_name("::ffff:192.168.77.4", b"Linux NFSv4.1 uuid/node4"),
        ganesha_name("192.168.77.5", long_owner),
    ]
    for name in names:
        mkdirs(v4recov, name)
    (v4recov / "192.168.77.6-(1:x)").write_text("")  # a file is not a record
    os.symlink(str(v4recov / names[0]), v4recov / "192.168.77.7-(1:y)")  # nor a link
    clients = NodeClients(str(root), owner_uid=os.getuid())
    found = sorted(clients.records(), key=lambda r: r.address)
    assert found == [
        RecordedClient("192.168.77.3", b"Linux NFSv4.1 node3 a"),
        RecordedClient("192.168.77.4", b"Linux NFSv4.1 uuid/node4"),
        RecordedClient("192.168.77.5", long_owner),
    ]


def test_records_of_another_owner_do_not_count(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to make a directory owned by someone else")
    tmp_path.chmod(0o755)
    v4recov = tmp_path / "v4recov"
    v4recov.mkdir(mode=0o755)
    planted = v4recov / ganesha_name("192.168.77.3", b" ")
    planted.mkdir()
    os.chown(planted, 65534, 65534)
    assert NodeClients(str(tmp_path)).records() == []


def test_a_missing_records_directory_is_an_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    with pytest.raises(Exception, match="does not exist"):
        NodeClients(str(tmp_path), owner_uid=os.getuid()).records()


owners = st.text(alphabet="Linux NFSv4.1 node3ac/\x00", min_size=0, max_size=20)
hosts = st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"])


@given(st.lists(st.tuples(hosts, owners), max_size=8), st.sets(hosts))
def test_a_plan_never_reaches_a_client_that_did_not_use_the_address(
    records: list[tuple[str, str]], peers: set[str]
) -> None:
    """Released as ganesha would (substring), the plan reaches only clients of the peers."""
    use = AddressUse(
        peers=peers, records=[RecordedClient(a, o.encode("latin-1")) for a, o in records]
    )
    plan = release_plan(use)
    reached = {
        (r.address, r.owner)
        for r in use.records
        for sent in plan.owners
        if sent.encode("ascii") in r.owner
    }
    assert all(address in peers for address, _ in reached)
    assert all(sent and sent.isprintable() for sent in plan.owners)
    users = {r.owner for r in use.records if r.address in peers}
    assert len(plan.owners) + len(plan.kept) == len(users)
