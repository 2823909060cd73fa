"""ganesha.conf for the shared state layout: the fragment ``ganesha-conf`` prints, and its check."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ganesha_agents import ganesha_conf as conf
from ganesha_agents.cli import main

LINK = conf.Layout("/var/run/gluster/shared_storage")
DIRECT = conf.Layout("/srv/state", conf.DIRECT, "node2")
GOOD_LINK = "NFS_CORE_PARAM { Clustered = false; }\nNFSv4 { RecoveryBackend = fs; }\n"


def findings(text: str, layout: conf.Layout = LINK) -> list[conf.Finding]:
    return conf.check(conf.parse(text), layout)


def settings_named(text: str, layout: conf.Layout = LINK) -> list[str]:
    return [f.setting for f in findings(text, layout)]


# --- the fragment ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [LINK, DIRECT])
def test_the_fragment_passes_its_own_check(layout: conf.Layout) -> None:
    text = conf.fragment(layout)
    assert findings(text, layout) == []
    (v4,) = conf.parse(text).all("nfsv4")
    root = v4.setting("RecoveryRoot")
    assert root is not None and root.values == (layout.recovery_root,)


def test_direct_mode_names_the_nodes_own_directory_on_the_volume() -> None:
    assert DIRECT.recovery_root == "/srv/state/nfs-ganesha/node2/nfs/ganesha"
    assert LINK.recovery_root == "/var/lib/nfs/ganesha"
    other = conf.Layout("/srv/state", conf.DIRECT, "node3")
    assert settings_named(conf.fragment(DIRECT), other) == ["NFSv4 { RecoveryRoot }"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("/srv/state", conf.DIRECT, None), "needs the node"),
        (("/srv/state", conf.DIRECT, "a/b"), "directory name"),
        (("/srv/state", conf.DIRECT, ".."), "directory name"),
        (("srv/state", conf.LINK, None), "absolute path"),
        (('/srv/"x', conf.LINK, None), "absolute path"),
        (("/srv/state", "bind", None), "link or direct"),
    ],
)
def test_layout_rejects(arguments: tuple[str, str, str | None], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        conf.Layout(*arguments)


_PATH_PART = st.text(string.ascii_letters + string.digits + "-._ +:@", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(_PATH_PART.filter(lambda p: p not in (".", "..")), min_size=1, max_size=4),
    node=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True),
)
def test_any_volume_and_node_give_a_fragment_that_reads_back(parts: list[str], node: str) -> None:
    """Paths with characters ganesha does not read unquoted are quoted, and read back whole."""
    layout = conf.Layout("/" + "/".join(parts), conf.DIRECT, node)
    assert findings(conf.fragment(layout), layout) == []


# --- the check ---------------------------------------------------------------------------


def test_clustered_true_or_missing_is_reported_with_its_consequence() -> None:
    for text, found in (
        ("NFSv4 { }", "not set (true)"),
        ("NFS_CORE_PARAM { Clustered = true; }", "true"),
        ("NFS_CORE_PARAM { Clustered = maybe; }", "maybe"),
        # A quoted value is a string to ganesha, never a boolean: it refuses the setting.
        ('NFS_CORE_PARAM { Clustered = "false"; }', '"false"'),
        ("NFS_CORE_PARAM { Clustered = false, false; }", "false, false"),
    ):
        (finding,) = findings(text)
        assert finding.setting == "NFS_CORE_PARAM { Clustered }"
        assert finding.found == found and finding.expected == "false"
        assert "v4recov/node<N>" in finding.why and "reclaim is refused" in finding.why
        assert ("unquoted" in finding.why) is (found not in ("true", "not set (true)"))
    assert findings("nfs_core_param { CLUSTERED = Off; }") == []


@pytest.mark.parametrize(
    ("line", "setting"),
    [
        ("RecoveryBackend = rados_ng;", "NFSv4 { RecoveryBackend }"),
        ("RecoveryBackend = fs_ng;", "NFSv4 { RecoveryBackend }"),
        ("RecoveryRoot = /var/lib/ganesha;", "NFSv4 { RecoveryRoot }"),
        ("RecoveryDir = recov;", "NFSv4 { RecoveryDir }"),
        ("RecoveryOldDir = old;", "NFSv4 { RecoveryOldDir }"),
        ("Graceless = true;", "NFSv4 { Graceless }"),
    ],
)
def test_each_wrong_setting_is_named(line: str, setting: str) -> None:
    text = f"NFS_CORE_PARAM {{ Clustered = false; }}\nNFSv4 {{\n  {line}\n}}\n"
    (finding,) = findings(text)
    assert finding.setting == setting
    assert finding.where == "<text>:3"


def test_defaults_that_fit_need_not_be_written() -> None:
    assert findings("NFS_CORE_PARAM { Clustered = false; }") == []
    explicit = (
        "NFS_CORE_PARAM { Clustered = false; }\n"
        "NFSv4 { RecoveryBackend = FS; RecoveryRoot = /var/lib/nfs/ganesha/; "
        "RecoveryDir = v4recov; RecoveryOldDir = 'v4old'; Graceless = no; }"
    )
    assert findings(explicit) == []


def test_link_mode_with_the_volume_named_directly_points_at_direct_mode() -> None:
    text = (
        GOOD_LINK
        + "NFSv4 { RecoveryRoot = /var/run/gluster/shared_storage/nfs-ganesha/n/nfs/ganesha; }"
    )
    (duplicate, root) = findings(text)
    assert duplicate.setting == "NFSv4" and "only the last one counts" in duplicate.why
    assert root.setting == "NFSv4 { RecoveryRoot }" and "mode=direct" in root.why


def test_direct_mode_needs_the_recovery_root_set() -> None:
    (finding,) = findings("NFS_CORE_PARAM { Clustered = false; }", DIRECT)
    assert finding.found == "not set (/var/lib/nfs/ganesha)"
    assert finding.expected == DIRECT.recovery_root


def test_the_last_block_of_a_name_decides_as_in_ganesha() -> None:
    text = "NFS_CORE_PARAM { Clustered = false; }\nNFS_CORE_PARAM { NFS_Port = 2049; }\n"
    assert settings_named(text) == ["NFS_CORE_PARAM", "NFS_CORE_PARAM { Clustered }"]
    text = "NFS_CORE_PARAM { Clustered = true; }\nNFS_CORE_PARAM { Clustered = false; }\n"
    assert settings_named(text) == ["NFS_CORE_PARAM"]


def test_syntax_ganesha_reads() -> None:
    text = """
    # comment { = ;
    nfs_core_param {   # trailing comment
        Protocols = 3, "4";
        Clustered = false;
    }
    EXPORT { Export_Id = 1; Path = "/a # not a comment"; FSAL { Name = VFS; } CLIENT { } }
    NFSV4 { Minor_Versions = 1, 2; Empty = ; }
    """
    document = conf.parse(text)
    assert [b.name for b in document.blocks] == ["nfs_core_param", "EXPORT", "NFSV4"]
    export = document.blocks[1]
    path = export.setting("path")
    assert path is not None and path.values == ("/a # not a comment",)
    assert [b.name for b in export.blocks] == ["FSAL", "CLIENT"]
    protocols = document.blocks[0].setting("PROTOCOLS")
    assert protocols is not None and protocols.values == ("3", "4") and protocols.line == 4
    assert conf.check(document, LINK) == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("NFSv4 { Graceless = false }", 1, "Graceless: ; expected"),
        ("NFSv4 {\n Graceless = false;\n", 2, "never closed"),
        ("}", 1, "closes no block"),
        ("Clustered = false;", 1, "in no block"),
        ('NFSv4 {\n RecoveryRoot = "/x;\n}', 2, "never closed"),
        ("NFSv4 { = 1; }", 1, "a name was expected"),
        ("NFSv4 { a = 1,; }", 1, "unexpected ';'"),
        ("NFSv4 { a 1; }", 1, "= or {"),
        ("%frobnicate x", 1, "unknown directive"),
    ],
)
def test_syntax_errors_say_where(text: str, line: int, message: str) -> None:
    with pytest.raises(conf.ConfError, match=message) as raised:
        conf.parse(text)
    assert raised.value.line == line


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab =;,{}#\"'%\n\\ ")) | st.characters(), max_size=80))
def test_any_text_is_read_or_refused_with_a_reason(text: str) -> None:
    try:
        document = conf.parse(text)
    except conf.ConfError as error:
        assert error.line >= 1
    else:
        conf.check(document, LINK)


# Open-ended ganesha.conf text: blocks, settings, comments and spellings around the
# settings that matter, in any order.
_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: (
        n.lower()
        not in {
            "nfs_core_param",
            "nfsv4",
            "clustered",
            "recoverybackend",
            "recoveryroot",
            "recoverydir",
            "recoveryolddir",
            "graceless",
        }
    )
)
_VALUE = st.one_of(
    st.from_regex(r"[A-Za-z0-9_./-]{1,12}", fullmatch=True),
    st.text(st.characters(exclude_characters='"\\\x00'), max_size=10).map(lambda t: f'"{t}"'),
    st.text(st.characters(exclude_characters="'\x00"), max_size=10).map(lambda t: f"'{t}'"),
)
_SPACE = st.sampled_from([" ", "  ", "\n", "\t", " # a comment\n", "\n\n"])


def _case(word: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if f else c.lower()
        for c, f in zip(word, (flips + [False] * len(word))[: len(word)], strict=True)
    )


@st.composite
def _setting(draw: st.DrawFn, name: st.SearchStrategy[str] = _NAME) -> str:
    values = draw(st.lists(_VALUE, max_size=3))
    return f"{draw(name)}{draw(_SPACE)}={draw(_SPACE)}{', '.join(values)};"


@st.composite
def _block(draw: st.DrawFn, name: str, required: list[str], depth: int = 0) -> str:
    items = draw(st.lists(_setting(), max_size=3)) + required
    if depth < 1:
        items += draw(st.lists(_nested(), max_size=2))
    order = draw(st.permutations(items))
    spacing = draw(_SPACE)
    return f"{name}{spacing}{{{spacing}{spacing.join(order)}{spacing}}}"


@st.composite
def _nested(draw: st.DrawFn) -> str:
    return str(draw(_block(draw(_NAME), [], depth=1)))


@st.composite
def _document(draw: st.DrawFn, clustered: str) -> str:
    flips = draw(st.lists(st.booleans(), max_size=20))
    backend = draw(st.sampled_from(["fs", "FS", '"fs"']))
    graceless = draw(st.sampled_from(["false", "no", "OFF", "No"]))
    core = draw(
        _block(
            _case("NFS_CORE_PARAM", flips),
            [f"{_case('Clustered', flips)} = {clustered};"],
        )
    )
    v4 = draw(
        _block(
            _case("NFSv4", flips),
            [
                f"{_case('RecoveryBackend', flips)} = {backend};",
                f"Graceless = {graceless};",
            ],
        )
    )
    others = draw(st.lists(_nested(), max_size=3))
    return "\n".join(draw(st.permutations([core, v4, *others])))


@settings(max_examples=80, deadline=None)
@given(
    text=_document(clustered="false"),
    false=st.sampled_from(["false", "False", "no", "NO", "off", "oFf"]),
)
def test_the_settings_are_found_whatever_surrounds_them(text: str, false: str) -> None:
    assert findings(text.replace("= false;", f"= {false};", 1)) == []


@settings(max_examples=80, deadline=None)
@given(text=_document(clustered="true"))
def test_clustered_true_is_found_whatever_surrounds_it(text: str) -> None:
    assert settings_named(text) == ["NFS_CORE_PARAM { Clustered }"]


# --- files and includes ------------------------------------------------------------------


def test_includes_are_read_relative_to_the_main_files_directory(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "core.conf").write_text("NFS_CORE_PARAM {\n Clustered = true;\n}\n")
    main_file = tmp_path / "ganesha.conf"
    main_file.write_text('%include "conf.d/core.conf"\nNFSv4 { }\n%url rados://pool/obj\n')
    found = conf.check_file(main_file, LINK)
    assert [(f.setting, f.where) for f in found] == [
        ("%url", f"{main_file}:3"),
        ("NFS_CORE_PARAM { Clustered }", f"{tmp_path}/conf.d/core.conf:2"),
    ]


def test_an_include_loop_or_a_missing_include_is_an_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.conf"
    loop.write_text("%include loop.conf\n")
    with pytest.raises(conf.ConfError, match="nested deeper"):
        conf.load(loop)
    missing = tmp_path / "missing.conf"
    missing.write_text("\n%include nowhere.conf\n")
    with pytest.raises(conf.ConfError, match=r"nowhere\.conf") as raised:
        conf.load(missing)
    assert raised.value.line == 2


# --- the command -------------------------------------------------------------------------


def run(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["ganesha-conf", *arguments])
    return result.exit_code, result.output


def test_command_prints_the_fragment() -> None:
    code, output = run("--ha-vol-mnt=/srv/state", "--nfsd-mode=direct", "--node=node2")
    assert code == 0 and output == conf.fragment(DIRECT)
    code, output = run("--ha-vol-mnt=/srv/state")
    assert code == 0 and "RecoveryRoot = /var/lib/nfs/ganesha;" in output
    code, output = run("--ha-vol-mnt=/srv/state", "--nfsd-mode=direct")
    assert code == 2 and "needs the node" in output


def test_command_checks_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ganesha.conf"
    path.write_text(GOOD_LINK)
    assert run("--ha-vol-mnt=/srv/state", f"--check={path}") == (
        0,
        f"{path}: state volume /srv/state, mode link\nsettings in place\n",
    )
    path.write_text("NFS_CORE_PARAM { Clustered = true; }\n")
    code, output = run("--ha-vol-mnt=/srv/state", f"--check={path}")
    assert code == 1
    assert f"DRIFT    {path}:1: NFS_CORE_PARAM {{ Clustered }} is true, must be false" in output
    assert output.endswith("settings NOT in place: 1\n")
    code, output = run("--ha-vol-mnt=/srv/state", f"--check={path}", "--json")
    document = json.loads(output)
    assert code == 1 and document["ok"] is False
    assert [f["setting"] for f in document["findings"]] == ["NFS_CORE_PARAM { Clustered }"]


def test_command_exit_3_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    code, output = run("--ha-vol-mnt=/srv/state", f"--check={tmp_path / 'none.conf'}")
    assert code == 3 and "No such file" in output
    bad = tmp_path / "bad.conf"
    bad.write_text("NFSv4 {\n")
    code, output = run("--ha-vol-mnt=/srv/state", f"--check={bad}", "--json")
    assert code == 3 and json.loads(output)["error"].endswith("NFSv4 is never closed")
