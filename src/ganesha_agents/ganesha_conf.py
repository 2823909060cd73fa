"""What ganesha.conf must say for the shared state layout: the fragment, and a check.

The layout on the state volume (:mod:`ganesha_agents.state_volume`) and the
takeover (``grace("5:<name>")`` reads ``<RecoveryRoot>/<name>/v4recov``)
work only if ganesha 4.3 files each client where they look:

- ``NFS_CORE_PARAM { Clustered = false; }``.  ganesha's default, true,
  files every client under ``<RecoveryRoot>/v4recov/node<N>`` (``node0``
  without a cluster manager), a directory no takeover reads: after a
  failover no client is found and every reclaim is refused.
- ``NFSv4 { RecoveryBackend = fs; }`` (the default): the other backends do
  not keep one directory per client under ``v4recov``.
- ``RecoveryRoot``: in link mode ganesha's default, ``/var/lib/nfs/ganesha``,
  which ganesha_nfsd's link puts on the volume; in direct mode
  ``<ha_vol_mnt>/nfs-ganesha/<node>/nfs/ganesha``, the node's own.
- ``RecoveryDir`` and ``RecoveryOldDir`` left at ``v4recov`` and ``v4old``,
  the names the layout creates and the takeover reads.
- ``Graceless = false`` (the default): with true, ganesha lifts grace at
  once and nobody can reclaim.

The parser reads ganesha's own syntax (ganesha 4.3's ``conf_lex.l`` and
``conf_yacc.y``) as far as these settings need it: blocks and settings
matched without regard to case, ``#`` comments, quoted values, ``yes/true/on``
and ``no/false/off`` unquoted (ganesha refuses a quoted boolean: it is a
string there), ``%include`` followed (relative to the main file's
directory, as ganesha does).  ``%dir`` and ``%url`` are reported, not
followed.  A block given twice counts as ganesha counts it: each one sets
every setting it leaves out back to the default, so the last one decides.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from ganesha_agents.state_volume import recovery_root

LINK = "link"
DIRECT = "direct"
# ganesha 4.3's compiled-in RecoveryRoot (``@SYSSTATEDIR@/lib/nfs/ganesha``).
DEFAULT_RECOVERY_ROOT = "/var/lib/nfs/ganesha"
CORE = "NFS_CORE_PARAM"
NFSV4 = "NFSv4"
MAX_INCLUDE_DEPTH = 10
TRUE_WORDS = frozenset({"yes", "true", "on"})
FALSE_WORDS = frozenset({"no", "false", "off"})
_PUNCTUATION = "{}=;,"
_SEPARATORS = frozenset(" \t\r\f\n" + _PUNCTUATION + "#\"'")
# What ganesha's lexer reads unquoted in a path; anything else is quoted.
_PLAIN_PATH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/")

CLUSTERED_WHY = (
    "with Clustered = true (ganesha's default when it is not set) ganesha files every "
    "client under <RecoveryRoot>/v4recov/node<N> (node0 without a cluster manager), where "
    "no takeover looks: grace(5:<address>) and grace(5:<node>) read "
    "<RecoveryRoot>/<name>/v4recov, so after a failover no client is found and every "
    "reclaim is refused (NFS4ERR_NO_GRACE): the clients lose their locks"
)


class ConfError(ValueError):
    """The text is not ganesha configuration syntax (ganesha itself would refuse it)."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source, self.line, self.message = source, line, message


@attrs.frozen
class Setting:
    """``name = values;``; ``quoted`` says which values were quoted (never booleans to ganesha)."""

    name: str
    values: tuple[str, ...]
    source: str
    line: int
    quoted: tuple[bool, ...] = ()


@attrs.frozen
class Block:
    name: str
    source: str
    line: int
    settings: tuple[Setting, ...] = ()
    blocks: tuple[Block, ...] = ()

    def setting(self, name: str) -> Setting | None:
        """The last setting called ``name`` (case does not matter), as ganesha reads it."""
        found = [s for s in self.settings if s.name.lower() == name.lower()]
        return found[-1] if found else None


@attrs.frozen
class Unfollowed:
    """A ``%dir`` or ``%url`` directive: its settings were not read."""

    directive: str
    target: str
    source: str
    line: int


@attrs.frozen
class Document:
    blocks: tuple[Block, ...]
    unfollowed: tuple[Unfollowed, ...] = ()

    def all(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.name.lower() == name.lower()]


# --- reading -----------------------------------------------------------------------------


@attrs.frozen
class _Token:
    kind: str  # "word", "string", a punctuation character, or "%include" / "%dir" / "%url"
    text: str
    line: int


def _tokens(text: str, source: str) -> Iterator[_Token]:
    at, line, end = 0, 1, len(text)
    while at < end:
        char = text[at]
        if char == "\n":
            line += 1
            at += 1
        elif char in " \t\r\f":
            at += 1
        elif char == "#":
            newline = text.find("\n", at)
            at = end if newline < 0 else newline
        elif char in _PUNCTUATION:
            yield _Token(char, char, line)
            at += 1
        elif char in "\"'":
            value, stop = _quoted(text, at, source, line)
            yield _Token("string", value, line)
            line += text.count("\n", at, stop)
            at = stop
        else:
            stop = at
            while stop < end and text[stop] not in _SEPARATORS:
                stop += 1
            word = text[at:stop]
            at = stop
            if word.lower() in ("%include", "%dir", "%url"):
                yield _Token(word.lower(), word, line)
            elif word.startswith("%"):
                raise ConfError(source, line, f"unknown directive {word!r}")
            else:
                yield _Token("word", word, line)


def _quoted(text: str, at: int, source: str, line: int) -> tuple[str, int]:
    quote, stop = text[at], at + 1
    value: list[str] = []
    while stop < len(text):
        char = text[stop]
        if char == quote:
            return "".join(value), stop + 1
        if char == "\\" and quote == '"' and stop + 1 < len(text):
            stop += 1
            char = text[stop]
        value.append(char)
        stop += 1
    raise ConfError(source, line, f"a value opened with {quote} is never closed")


class _Parser:
    def __init__(self, text: str, source: str, base: Path | None, depth: int) -> None:
        self.tokens = list(_tokens(text, source))
        self.at = 0
        self.source = source
        self.base = base
        self.depth = depth
        self.unfollowed: list[Unfollowed] = []

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise ConfError(self.source, last, f"the text ends where {what} was expected")
        self.at += 1
        return token

    def definitions(self, inside: str | None) -> tuple[list[Setting], list[Block]]:
        settings: list[Setting] = []
        blocks: list[Block] = []
        while True:
            token = self.peek()
            if token is None:
                if inside is not None:
                    raise ConfError(self.source, self.tokens[-1].line, f"{inside} is never closed")
                return settings, blocks
            if token.kind == "}":
                if inside is None:
                    raise ConfError(self.source, token.line, "a } closes no block")
                self.at += 1
                return settings, blocks
            if token.kind in ("%include", "%dir", "%url"):
                self.at += 1
                target = self.take(f"the file after {token.text}")
                if target.kind not in ("word", "string"):
                    raise ConfError(self.source, target.line, f"{token.text} names no file")
                if token.kind == "%include":
                    blocks += self.include(target.text, target.line)
                else:
                    self.unfollowed.append(
                        Unfollowed(token.kind, target.text, self.source, token.line)
                    )
                continue
            name = self.take("a name")
            if name.kind != "word":
                raise ConfError(self.source, name.line, f"a name was expected, not {name.text!r}")
            opener = self.take(f"= or {{ after {name.text}")
            if opener.kind == "{":
                inner, nested = self.definitions(name.text)
                blocks.append(Block(name.text, self.source, name.line, tuple(inner), tuple(nested)))
            elif opener.kind == "=":
                tokens = self.values(name.text)
                values = tuple(t.text for t in tokens)
                quoted = tuple(t.kind == "string" for t in tokens)
                settings.append(Setting(name.text, values, self.source, name.line, quoted))
            else:
                raise ConfError(self.source, opener.line, f"= or {{ expected after {name.text!r}")

    def values(self, name: str) -> list[_Token]:
        """``a, b, c ;`` (or nothing before the ``;``)."""
        values: list[_Token] = []
        token = self.take(f"; after {name}")
        if token.kind == ";":
            return values
        while True:
            if token.kind not in ("word", "string"):
                raise ConfError(self.source, token.line, f"{name}: unexpected {token.text!r}")
            values.append(token)
            token = self.take(f"; after {name}")
            if token.kind == ";":
                return values
            if token.kind != ",":
                raise ConfError(self.source, token.line, f"{name}: ; expected, not {token.text!r}")
            token = self.take(f"a value after , in {name}")

    def include(self, target: str, line: int) -> list[Block]:
        if self.base is None:
            self.unfollowed.append(Unfollowed("%include", target, self.source, line))
            return []
        if self.depth >= MAX_INCLUDE_DEPTH:
            raise ConfError(self.source, line, f"%include nested deeper than {MAX_INCLUDE_DEPTH}")
        path = Path(target) if target.startswith("/") else self.base / target
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise ConfError(self.source, line, f"%include {target}: {error.strerror}") from error
        inner = _Parser(text, str(path), self.base, self.depth + 1)
        settings, blocks = inner.definitions(None)
        self.unfollowed += inner.unfollowed
        if settings:
            raise ConfError(str(path), settings[0].line, f"{settings[0].name} is in no block")
        return blocks


def parse(text: str, source: str = "<text>", base: Path | None = None) -> Document:
    """``text`` as ganesha reads it; ``%include`` followed from ``base`` (None: not followed)."""
    parser = _Parser(text, source, base, 0)
    settings, blocks = parser.definitions(None)
    if settings:
        raise ConfError(source, settings[0].line, f"{settings[0].name} is in no block")
    return Document(tuple(blocks), tuple(parser.unfollowed))


def load(path: str | os.PathLike[str]) -> Document:
    """The file and everything it includes.  OSError when the file cannot be read."""
    file = Path(path)
    text = file.read_text(encoding="utf-8", errors="replace")
    return parse(text, str(file), base=file.parent if file.is_absolute() else Path("."))


# --- what the layout needs ---------------------------------------------------------------


@attrs.frozen
class Layout:
    """Where this node's records must go: the state volume, ganesha_nfsd's mode, the node."""

    ha_vol_mnt: str
    mode: str = LINK
    node: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.mode not in (LINK, DIRECT):
            raise ValueError(f"mode must be {LINK} or {DIRECT}, not {self.mode!r}")
        if not self.ha_vol_mnt.startswith("/") or any(c in self.ha_vol_mnt for c in '\0\n"\\'):
            raise ValueError(f"{self.ha_vol_mnt!r} is not an absolute path ganesha can read")
        if self.mode == DIRECT:
            if not self.node:
                raise ValueError("direct mode needs the node: its RecoveryRoot is its own")
            if (
                "/" in self.node
                or self.node.startswith(".")
                or any(c in self.node for c in '\0\n"\\')
            ):
                raise ValueError(f"{self.node!r} cannot be a node's directory name")

    @property
    def recovery_root(self) -> str:
        if self.mode == LINK:
            return DEFAULT_RECOVERY_ROOT
        assert self.node is not None
        return recovery_root(self.ha_vol_mnt, self.node)


def _path_value(path: str) -> str:
    return path if set(path) <= _PLAIN_PATH else f'"{path}"'


def fragment(layout: Layout) -> str:
    """The settings, as ganesha.conf text, with why each one is there."""
    if layout.mode == LINK:
        root_why = (
            "    # ganesha's default; ganesha_nfsd (mode link) makes /var/lib/nfs a link to\n"
            f"    # {layout.ha_vol_mnt}/nfs-ganesha/<node>/nfs, so this is on the volume.\n"
        )
    else:
        root_why = (
            "    # This node's directory on the state volume (ganesha_nfsd, mode direct);\n"
            "    # every node's ganesha.conf names its own.\n"
        )
    return (
        "# The shared state layout (ganesha-agents ganesha-conf).  Put these settings in the\n"
        "# file's own NFS_CORE_PARAM and NFSv4 blocks if it has them: ganesha reads a block\n"
        "# given twice as if only the last one were there.\n"
        f"{CORE} {{\n"
        "    # Each client under <RecoveryRoot>/v4recov, where a takeover reads it\n"
        "    # (true: v4recov/node<N>, where nobody looks, and reclaims are refused).\n"
        "    Clustered = false;\n"
        "}\n"
        f"{NFSV4} {{\n"
        "    # One directory per client under v4recov (the default backend).\n"
        "    RecoveryBackend = fs;\n"
        f"{root_why}"
        f"    RecoveryRoot = {_path_value(layout.recovery_root)};\n"
        "    # Clients reclaim during grace (the default); true lifts grace at once.\n"
        "    Graceless = false;\n"
        "}\n"
    )


@attrs.frozen
class Finding:
    """A setting that differs from what the layout needs, and why it matters."""

    setting: str
    found: str
    expected: str
    why: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.setting} is {self.found}, must be {self.expected}: {self.why}"

    def as_dict(self) -> dict[str, str]:
        return attrs.asdict(self)


def _where(setting: Setting | None, block: Block | None, source: str) -> str:
    if setting is not None:
        return f"{setting.source}:{setting.line}"
    if block is not None:
        return f"{block.source}:{block.line}"
    return source


def _scalar(setting: Setting | None) -> str | None:
    if setting is None:
        return None
    return ", ".join(setting.values)


def _boolean(setting: Setting) -> bool | None:
    """The setting as ganesha's boolean: one unquoted yes/true/on or no/false/off; else None."""
    if len(setting.values) != 1 or any(setting.quoted):
        return None
    word = setting.values[0].lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def _shown(setting: Setting) -> str:
    return ", ".join(
        f'"{value}"' if quoted else value
        for value, quoted in zip(setting.values, setting.quoted, strict=True)
    )


NOT_BOOLEAN = (
    "; ganesha reads only an unquoted yes/true/on or no/false/off as a boolean, and refuses "
    "anything else"
)


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def check(document: Document, layout: Layout, source: str = "ganesha.conf") -> list[Finding]:
    """Everything in ``document`` that keeps records from where the layout needs them."""
    findings: list[Finding] = []
    last: dict[str, Block | None] = {}
    for name in (CORE, NFSV4):
        blocks = document.all(name)
        last[name] = blocks[-1] if blocks else None
        if len(blocks) > 1:
            lines = ", ".join(f"{b.source}:{b.line}" for b in blocks)
            findings.append(
                Finding(
                    name,
                    f"given {len(blocks)} times ({lines})",
                    "given once",
                    "each block sets every setting it leaves out back to ganesha's default, "
                    "so only the last one counts",
                    f"{blocks[-1].source}:{blocks[-1].line}",
                )
            )
    for unfollowed in document.unfollowed:
        findings.append(
            Finding(
                unfollowed.directive,
                unfollowed.target,
                "read by hand",
                "this check does not read it: settings there are not checked, and may "
                "override the ones checked here",
                f"{unfollowed.source}:{unfollowed.line}",
            )
        )
    core, v4 = last[CORE], last[NFSV4]

    def get(block: Block | None, name: str) -> Setting | None:
        return None if block is None else block.setting(name)

    clustered = get(core, "Clustered")
    if clustered is None or _boolean(clustered) is not False:
        found = "not set (true)" if clustered is None else _shown(clustered)
        why = CLUSTERED_WHY
        if clustered is not None and _boolean(clustered) is None:
            why += NOT_BOOLEAN
        findings.append(
            Finding(
                f"{CORE} {{ Clustered }}",
                found,
                "false",
                why,
                _where(clustered, core, source),
            )
        )
    backend = get(v4, "RecoveryBackend")
    value = _scalar(backend)
    if value is not None and value.lower() != "fs":
        findings.append(
            Finding(
                f"{NFSV4} {{ RecoveryBackend }}",
                value,
                "fs",
                "only the fs backend keeps a directory per client under "
                "<RecoveryRoot>/v4recov, which the layout shares and the takeover reads",
                _where(backend, v4, source),
            )
        )
    findings += _root(get(v4, "RecoveryRoot"), v4, layout, source)
    for name, expected in (("RecoveryDir", "v4recov"), ("RecoveryOldDir", "v4old")):
        setting = get(v4, name)
        value = _scalar(setting)
        if value is not None and value != expected:
            findings.append(
                Finding(
                    f"{NFSV4} {{ {name} }}",
                    value,
                    f"{expected} (or not set)",
                    f"the layout creates {expected} in each recovery root, and a takeover "
                    f"reads <RecoveryRoot>/<name>/{expected}",
                    _where(setting, v4, source),
                )
            )
    graceless = get(v4, "Graceless")
    if graceless is not None and _boolean(graceless) is not False:
        why = (
            "a graceless server lifts grace at once: no client can reclaim its state "
            "after a failover"
        )
        findings.append(
            Finding(
                f"{NFSV4} {{ Graceless }}",
                _shown(graceless),
                "false (or not set)",
                why + (NOT_BOOLEAN if _boolean(graceless) is None else ""),
                _where(graceless, v4, source),
            )
        )
    return findings


def _root(setting: Setting | None, v4: Block | None, layout: Layout, source: str) -> list[Finding]:
    value = _scalar(setting)
    name = f"{NFSV4} {{ RecoveryRoot }}"
    where = _where(setting, v4, source)
    if layout.mode == LINK:
        if value is None or _same_path(value, DEFAULT_RECOVERY_ROOT):
            return []
        if os.path.normpath(value).startswith(os.path.normpath(layout.ha_vol_mnt) + "/"):
            why = (
                "it names the volume itself, which is direct mode: run ganesha_nfsd with "
                "mode=direct (ganesha-agents config --nfsd-mode direct), or leave it out"
            )
        else:
            why = (
                "in link mode ganesha_nfsd puts /var/lib/nfs (ganesha's default "
                "RecoveryRoot) on the volume; records kept elsewhere are lost with the node"
            )
        return [Finding(name, value, f"{DEFAULT_RECOVERY_ROOT} (or not set)", why, where)]
    expected = layout.recovery_root
    if value is not None and _same_path(value, expected):
        return []
    found = f"not set ({DEFAULT_RECOVERY_ROOT})" if value is None else value
    why = (
        "in direct mode ganesha must keep this node's records in its own directory on the "
        "state volume; anywhere else they are lost with the node, and nobody can take them over"
    )
    return [Finding(name, found, expected, why, where)]


def check_file(path: str | os.PathLike[str], layout: Layout) -> list[Finding]:
    """:func:`check` on a file and its includes.  OSError, ConfError."""
    return check(load(path), layout, str(path))


def summary(findings: Sequence[Finding], path: str, layout: Layout) -> str:
    """The report ``ganesha-agents ganesha-conf --check`` prints."""
    node = f", node {layout.node}" if layout.node else ""
    lines = [f"{path}: state volume {layout.ha_vol_mnt}, mode {layout.mode}{node}"]
    lines += [f"  DRIFT    {finding}" for finding in findings]
    verdict = "settings in place" if not findings else f"settings NOT in place: {len(findings)}"
    lines.append(verdict)
    return "\n".join(lines) + "\n"
