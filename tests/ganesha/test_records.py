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


# Every node writes the volume: nothing another node planted there may lead root elsewhere.


@pytest.fixture
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of root's beside the volume (on the same file system) with the layout's names."""
    place = tmp_path_factory.mktemp("victim")
    (place / "nfs" / "ganesha" / "v4recov").mkdir(parents=True)
    return place


def tree(path: Path) -> list[tuple[str, str]]:
    return sorted(
        (str(p.relative_to(path)), os.readlink(p) if p.is_symlink() else "")
        for p in path.rglob("*")
    )


def test_a_link_in_place_of_the_address_directory_is_never_followed(
    volume: Path, victim: Path
) -> None:
    addresses = Path(state_volume.address_dir(volume))
    os.rename(addresses, volume / "moved")
    addresses.symlink_to(victim)
    before = tree(victim)
    node1 = links(volume, "node1")
    with pytest.raises(RecordsError, match="symbolic link, not followed"):
        node1.claim(VIP, node1.own_root())
    with pytest.raises(RecordsError, match="symbolic link, not followed"):
        node1.holder(VIP)
    assert tree(victim) == before


@pytest.mark.parametrize("component", ["node1", "node1/nfs", "node1/nfs/ganesha"])
def test_a_link_in_place_of_the_own_recovery_root_is_never_followed(
    volume: Path, victim: Path, component: str
) -> None:
    replaced = volume / "nfs-ganesha" / component
    os.rename(replaced, volume / "moved")
    inner = {
        "node1": victim,
        "node1/nfs": victim / "nfs",
        "node1/nfs/ganesha": victim / "nfs/ganesha",
    }
    replaced.symlink_to(inner[component])
    before = tree(victim)
    with pytest.raises(RecordsError, match="symbolic link, not followed"):
        links(volume, "node1").lead_to_record(VIP)
    assert tree(victim) == before


@pytest.mark.parametrize(
    ("component", "inside"),
    [("node2", ""), ("node2/nfs", "nfs"), ("node2/nfs/ganesha", "nfs/ganesha")],
)
def test_a_record_reached_through_a_planted_link_is_refused(
    volume: Path, victim: Path, component: str, inside: str
) -> None:
    # The record's text names the layout exactly, but a directory on the way is now a link.
    replaced = volume / "nfs-ganesha" / component
    (Path(state_volume.address_dir(volume)) / VIP).symlink_to(root(volume, "node2"))
    os.rename(replaced, volume / "moved")
    replaced.symlink_to(victim / inside)
    with pytest.raises(RecordsError, match="symbolic link, not followed"):
        links(volume, "node1").holder(VIP)
    node1 = links(volume, "node1")
    with pytest.raises(RecordsError, match="symbolic link, not followed"):
        node1.claim(VIP, str(root(volume, "node2")))


def test_a_record_naming_a_node_that_cannot_be_a_name_is_refused(volume: Path) -> None:
    # A directory another node made, whose name would put a line break into the log.
    odd = "node2\nCRIT: forged"
    (volume / "nfs-ganesha" / odd / "nfs" / "ganesha").mkdir(parents=True)
    (Path(state_volume.address_dir(volume)) / VIP).symlink_to(root(volume, odd))
    with pytest.raises(RecordsError, match="not a recovery root"):
        links(volume, "node1").holder(VIP)


@pytest.mark.parametrize("where", ["nfs-ganesha/.addresses", "nfs-ganesha", "nfs-ganesha/node2"])
def test_a_layout_directory_others_may_write_is_not_trusted(volume: Path, where: str) -> None:
    node2 = links(volume, "node2")
    node2.claim(VIP, node2.own_root())
    os.chmod(volume / where, 0o777)  # noqa: S103 (the point of the test)
    with pytest.raises(RecordsError, match="writable by group or others"):
        links(volume, "node1").holder(VIP)


def test_a_volume_path_through_another_users_link_is_refused(volume: Path, tmp_path: Path) -> None:
    via = tmp_path / "via"
    via.symlink_to(volume)
    os.lchown(via, 65534, 65534)
    node2 = AddressLinks(str(via), "node2", owner_uid=os.getuid())
    with pytest.raises(RecordsError, match="not followed"):
        node2.claim(VIP, node2.own_root())
    with pytest.raises(RecordsError, match="not followed"):
        node2.holder(VIP)
    assert os.listdir(state_volume.address_dir(volume)) == []
