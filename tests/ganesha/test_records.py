"""The address records on disk: links on a (here local) shared state volume."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ganesha_agents import state_volume
from ganesha_agents.backends.records import AddressLinks, RecordsError, check_name

VIP = "192.0.2.12"


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    """A state volume laid out for two nodes."""
    state_volume.create(tmp_path, ["node1", "node2"])
    return tmp_path


def links(volume: Path, node: str) -> AddressLinks:
    return AddressLinks(str(volume), node, owner_uid=os.getuid())


def root(volume: Path, node: str) -> Path:
    return Path(state_volume.recovery_root(volume, node))


def test_no_record_at_first(volume: Path) -> None:
    assert links(volume, "node1").holder(VIP) is None


def test_a_claim_is_read_back_by_every_node(volume: Path) -> None:
    node2 = links(volume, "node2")
    node2.claim(VIP, node2.own_root())
    assert links(volume, "node1").holder(VIP) == str(root(volume, "node2"))


def test_the_address_leads_to_the_previous_holders_records(volume: Path) -> None:
    node2, node1 = links(volume, "node2"), links(volume, "node1")
    node2.claim(VIP, node2.own_root())
    node1.lead_to_record(VIP)
    seen = root(volume, "node1") / VIP / "v4recov"
    assert seen.resolve() == (root(volume, "node2") / "v4recov").resolve()
    # After the claim the same path leads to node1's own records: no relinking needed.
    node1.claim(VIP, node1.own_root())
    assert seen.resolve() == (root(volume, "node1") / "v4recov").resolve()
    node1.lead_to_record(VIP)  # idempotent
    assert os.readlink(root(volume, "node1") / VIP) == state_volume.address_dir(volume) + "/" + VIP


def test_a_claim_replaces_the_record_atomically(volume: Path) -> None:
    node1, node2 = links(volume, "node1"), links(volume, "node2")
    node2.claim(VIP, node2.own_root())
    node1.claim(VIP, node1.own_root())
    assert node2.holder(VIP) == node1.own_root()
    assert os.listdir(state_volume.address_dir(volume)) == [VIP], "no temporary link left"


@pytest.mark.parametrize(
    "target",
    [
        "relative/path",
        "/nonexistent/records",
        "/etc",
        "{volume}/nfs-ganesha/node1",
        "{volume}/nfs-ganesha/node1/nfs/ganesha/../../../node2/nfs/ganesha",
        "{volume}/nfs-ganesha/.addresses",
        "{volume}/nfs-ganesha/node3/nfs/ganesha",
    ],
)
def test_a_record_that_points_anywhere_else_is_refused(volume: Path, target: str) -> None:
    link = Path(state_volume.address_dir(volume)) / VIP
    link.symlink_to(target.format(volume=volume))
    with pytest.raises(RecordsError, match="points at"):
        links(volume, "node1").holder(VIP)


def test_a_record_pointing_off_the_volume_is_refused(volume: Path) -> None:
    # A mount on the layout's path: the record names the right path on another file system.
    other = root(volume, "node2")
    done = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(other)], check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount here (not root)")
    try:
        (Path(state_volume.address_dir(volume)) / VIP).symlink_to(other)
        with pytest.raises(RecordsError, match="off the state volume"):
            links(volume, "node1").holder(VIP)
    finally:
        subprocess.run(["umount", str(other)], check=True)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make a directory another user owns")
def test_a_record_pointing_at_another_users_directory_is_refused(volume: Path) -> None:
    os.chown(root(volume, "node2"), 65534, 65534)
    (Path(state_volume.address_dir(volume)) / VIP).symlink_to(root(volume, "node2"))
    with pytest.raises(RecordsError, match="owned by uid 65534"):
        AddressLinks(str(volume), "node1").holder(VIP)


def test_a_directory_in_place_of_the_link_is_left_alone(volume: Path) -> None:
    squatter = root(volume, "node1") / VIP
    (squatter / "v4recov").mkdir(parents=True)
    with pytest.raises(RecordsError, match="not a link"):
        links(volume, "node1").lead_to_record(VIP)
    assert (squatter / "v4recov").is_dir()


def test_a_volume_without_the_layout_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="cannot be opened"):
        links(tmp_path, "node1").holder(VIP)


@pytest.mark.parametrize("name", ["", "..", ".hidden", "a/b", "x\0y", "\n", "1" * 256])
def test_names_that_cannot_be_a_path_component_are_refused(name: str) -> None:
    with pytest.raises(RecordsError):
        check_name(name, "an address record")


def test_ipv6_addresses_make_links_too(volume: Path) -> None:
    node2 = links(volume, "node2")
    node2.claim("2001:db8::12", node2.own_root())
    assert links(volume, "node1").holder("2001:db8::12") == node2.own_root()


def test_the_layout_is_created_once_and_checked_after(tmp_path: Path) -> None:
    made = state_volume.create(tmp_path, ["node1", "node2", "node3"])
    assert any("link" in m for m in made)
    assert state_volume.create(tmp_path, ["node1", "node2", "node3"]) == []
    peer = root(tmp_path, "node1") / "node2"
    peer.unlink()
    peer.symlink_to("/etc")
    with pytest.raises(ValueError, match="links to /etc"):
        state_volume.create(tmp_path, ["node1", "node2", "node3"])
