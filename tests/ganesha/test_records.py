"""The address records on disk: links on a (here local) shared state volume."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from ganesha_agents.backends.records import AddressLinks, RecordsError, check_address

VIP = "192.0.2.12"


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    """A state volume with two nodes' recovery roots and the address directory."""
    for node in ("node1", "node2"):
        (tmp_path / node / "nfs" / "ganesha" / "v4recov").mkdir(parents=True)
    (tmp_path / ".addresses").mkdir()
    return tmp_path


def links(volume: Path, node: str) -> AddressLinks:
    return AddressLinks(
        str(volume / node / "nfs" / "ganesha"),
        str(volume / ".addresses"),
        owner_uid=os.getuid(),
    )


def test_no_record_at_first(volume: Path) -> None:
    assert links(volume, "node1").holder(VIP) is None


def test_a_claim_is_read_back_by_every_node(volume: Path) -> None:
    node2 = links(volume, "node2")
    node2.claim(VIP, node2.own_root())
    assert links(volume, "node1").holder(VIP) == str(volume / "node2" / "nfs" / "ganesha")


def test_the_own_root_is_resolved_so_other_nodes_can_follow_it(volume: Path) -> None:
    # 3.7's layout reaches the volume through a link (/var/lib/nfs -> <volume>/<node>/nfs).
    alias = volume / "var-lib-nfs"
    alias.symlink_to(volume / "node1" / "nfs")
    node1 = AddressLinks(str(alias / "ganesha"), str(volume / ".addresses"), owner_uid=os.getuid())
    assert node1.own_root() == str(volume / "node1" / "nfs" / "ganesha")


def test_the_address_leads_to_the_previous_holders_records(volume: Path) -> None:
    node2, node1 = links(volume, "node2"), links(volume, "node1")
    node2.claim(VIP, node2.own_root())
    node1.lead_to_record(VIP)
    seen = volume / "node1" / "nfs" / "ganesha" / VIP / "v4recov"
    assert seen.resolve() == (volume / "node2" / "nfs" / "ganesha" / "v4recov").resolve()
    # And after the claim, the same path leads to node1's own records: no relinking needed.
    node1.claim(VIP, node1.own_root())
    assert seen.resolve() == (volume / "node1" / "nfs" / "ganesha" / "v4recov").resolve()
    node1.lead_to_record(VIP)  # idempotent
    assert os.readlink(volume / "node1" / "nfs" / "ganesha" / VIP) == str(
        volume / ".addresses" / VIP
    )


def test_a_claim_replaces_the_record_atomically(volume: Path) -> None:
    node1, node2 = links(volume, "node1"), links(volume, "node2")
    node2.claim(VIP, node2.own_root())
    node1.claim(VIP, node1.own_root())
    assert node2.holder(VIP) == node1.own_root()
    assert sorted(os.listdir(volume / ".addresses")) == [VIP], "no temporary link left behind"


@pytest.mark.parametrize("target", ["relative/path", "/nonexistent/records"])
def test_a_record_that_points_anywhere_else_is_refused(volume: Path, target: str) -> None:
    (volume / ".addresses" / VIP).symlink_to(target)
    with pytest.raises(RecordsError, match="points at"):
        links(volume, "node1").holder(VIP)


def test_a_record_pointing_off_the_volume_is_refused(volume: Path) -> None:
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        if os.stat(elsewhere).st_dev == os.stat(volume).st_dev:
            pytest.skip("/dev/shm is on the same file system here")
        (volume / ".addresses" / VIP).symlink_to(elsewhere)
        with pytest.raises(RecordsError, match="outside the file system"):
            links(volume, "node1").holder(VIP)
    finally:
        elsewhere.rmdir()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make a directory another user owns")
def test_a_record_pointing_at_another_users_directory_is_refused(volume: Path) -> None:
    planted = volume / "planted"
    planted.mkdir()
    os.chown(planted, 65534, 65534)
    (volume / ".addresses" / VIP).symlink_to(planted)
    with pytest.raises(RecordsError, match="owned by uid 65534"):
        AddressLinks(str(volume / "node1"), str(volume / ".addresses")).holder(VIP)


def test_a_directory_in_place_of_the_link_is_left_alone(volume: Path) -> None:
    squatter = volume / "node1" / "nfs" / "ganesha" / VIP
    (squatter / "v4recov").mkdir(parents=True)
    with pytest.raises(RecordsError, match="not a link"):
        links(volume, "node1").lead_to_record(VIP)
    assert (squatter / "v4recov").is_dir()


def test_a_missing_address_directory_is_a_clear_error(volume: Path) -> None:
    node1 = AddressLinks(str(volume / "node1"), str(volume / "gone"), owner_uid=os.getuid())
    with pytest.raises(RecordsError, match="cannot be opened"):
        node1.holder(VIP)


@pytest.mark.parametrize("address", ["", "..", "a/b", "x\0y", "\n", "1" * 65])
def test_names_that_cannot_be_an_address_are_refused(address: str) -> None:
    with pytest.raises(RecordsError):
        check_address(address)


def test_ipv6_addresses_make_links_too(volume: Path) -> None:
    node2 = links(volume, "node2")
    node2.claim("2001:db8::12", node2.own_root())
    assert links(volume, "node1").holder("2001:db8::12") == node2.own_root()
