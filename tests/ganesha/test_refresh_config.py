"""``ganesha-agents refresh-config``: the export file's ids, and the calls made for them.

On a fake export manager; the same calls through dbus-send on a real bus
against a fake ganesha are in tests/real/test_exportmgr_bus.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ganesha_agents.backends.dbus import TIMEOUT, TransportFailure
from ganesha_agents.backends.dbussend import RemoteError
from ganesha_agents.cli import main
from ganesha_agents.operate import exports
from ganesha_agents.operate_cli import report_exports

EXPORTS = """
# exports of volume gv0
EXPORT {
    Export_Id = 2 ;   # the first
    Path = "/gv0";
    FSAL { Name = GLUSTER; Volume = "gv0"; Export_Id = 9; }
    CLIENT { Clients = 192.0.2.0/24; Access_Type = RW; }
}
export{export_id=17;path="/gv1";}
# EXPORT { Export_Id = 5; }  a comment
"""


class FakeManager:
    """ganesha's export manager: ``present`` exists; ``refuse`` answers as ganesha refuses."""

    def __init__(self, present: set[int], refuse: frozenset[int] = frozenset()) -> None:
        self.present = set(present)
        self.refuse = refuse
        self.calls: list[str] = []

    def exists(self, export_id: int, *, timeout: float) -> bool:
        self.calls.append(f"exists {export_id}")
        return export_id in self.present

    def _load(self, verb: str, done: str, path: str, expression: str) -> str:
        self.calls.append(f"{verb} {path} {expression}")
        number = int(expression.split("=")[1].rstrip(")"))
        if number in self.refuse:
            raise RemoteError(
                "org.freedesktop.DBus.Error.InvalidFileContent",
                f"0 export entries in {path} {done} because (invalid param value) errors",
            )
        self.present.add(number)
        return f"1 exports {done}"

    def add(self, path: str, expression: str, *, timeout: float) -> str:
        return self._load("add", "added", path, expression)

    def update(self, path: str, expression: str, *, timeout: float) -> str:
        return self._load("update", "updated", path, expression)

    def remove(self, export_id: int, *, timeout: float) -> None:
        self.calls.append(f"remove {export_id}")
        if export_id not in self.present:
            raise TransportFailure(TIMEOUT, "no answer on the D-Bus system bus within 10s")
        self.present.discard(export_id)


def test_ids_come_from_the_top_level_export_blocks() -> None:
    assert exports.export_ids(EXPORTS) == [2, 17]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("EXPORT { Path = /x; }", "0 Export_Id settings"),
        ("EXPORT { Export_Id = 1; Export_Id = 2; }", "2 Export_Id settings"),
        ("EXPORT { Export_Id = 1; } EXPORT { Export_Id = 1; }", "used twice"),
        ("EXPORT { Export_Id = 70000; }", "out of range"),
        ("EXPORT { Export_Id = 1;", "not closed"),
    ],
)
def test_bad_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(exports.ExportsError, match=message):
        exports.export_ids(text)


def test_existing_exports_are_updated_new_ones_added() -> None:
    manager = FakeManager({2})
    outcomes = exports.refresh(manager, "/etc/ganesha/x.conf", [2, 17])
    assert [(o.export_id, o.action, o.ok, o.message) for o in outcomes] == [
        (2, "updated", True, "1 exports updated"),
        (17, "added", True, "1 exports added"),
    ]
    assert manager.calls == [
        "exists 2",
        "update /etc/ganesha/x.conf EXPORT(Export_Id=2)",
        "exists 17",
        "add /etc/ganesha/x.conf EXPORT(Export_Id=17)",
    ]


def test_one_refusal_does_not_stop_the_others() -> None:
    manager = FakeManager({2, 4}, refuse=frozenset({2}))
    outcomes = exports.refresh(manager, "/x.conf", [2, 17], remove=[4, 5])
    assert [(o.export_id, o.action, o.ok) for o in outcomes] == [
        (2, "updated", False),
        (17, "added", True),
        (4, "removed", True),
        (5, "removed", False),
    ]
    assert outcomes[0].message.startswith("ganesha refused: InvalidFileContent: 0 export")
    assert "no answer" in outcomes[3].message


def test_report_lines_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = exports.refresh(FakeManager({2}, refuse=frozenset({17})), "/x.conf", [2, 17])
    assert report_exports(outcomes, "node1") == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        "node1: export 2 updated: 1 exports updated",
        "node1: export 17 NOT added: ganesha refused: InvalidFileContent: 0 export entries "
        "in /x.conf added because (invalid param value) errors",
    ]
    assert "1 of 2 failed" in out.err
    assert report_exports(outcomes[:1], "node1") == 0


def test_a_file_without_exports_asks_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.conf"
    path.write_text("# nothing\n")
    result = CliRunner().invoke(main, ["refresh-config", "--exports", str(path)])
    assert result.exit_code == 3
    assert "has no EXPORT block" in result.output and "nothing was asked" in result.output


def test_the_path_given_to_ganesha_is_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "e.conf").write_text(EXPORTS)
    monkeypatch.chdir(tmp_path)
    absolute, ids = exports.read_ids("e.conf")
    assert absolute == str(tmp_path / "e.conf") and ids == [2, 17]
