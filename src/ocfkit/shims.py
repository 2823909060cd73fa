"""Installing agents where Pacemaker looks for them: ``<OCF_ROOT>/resource.d/<provider>/<agent>``.

A shim is a small executable Python script:

- its shebang names the real interpreter (``os.path.realpath(sys.executable)``)
  with ``-I -S``: no pyenv shim (about 80 ms a call), no environment-driven
  ``PYTHON*`` variables, no site processing; the directories it needs are
  added explicitly;
- it answers ``meta-data`` from the documents rendered at install time, so the
  controller's meta-data calls (as ``hacluster``, at every agent use) start
  no import at all;
- every other action imports the agent class and calls ``main()``.

Each shim carries a marker line; ``uninstall`` removes only files with it.
Re-run ``ocfkit install`` after upgrading, so the embedded meta-data follows.
Until then the shim warns in the agent's log: it remembers when the agent's
module and ocfkit were installed, and two ``stat`` calls tell it that either
changed since.  Starts, stops and probes look; meta-data and recurring
monitors, the calls that must stay cheapest, do not.
``ocfkit list`` and ``ocfkit check`` compare the embedded meta-data with what
the installed agent renders now, and say which shims are stale.

Pacemaker runs shims as root, so a shim is only written where nobody but root
could change what it runs (:func:`check_trusted`), and it is written
atomically, never through a symbolic link.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
import sysconfig
from pathlib import Path

import attrs

from ocfkit import __version__
from ocfkit.metadata import render
from ocfkit.registry import load, reference
from ocfkit.trust import UntrustedPathError, why_untrusted, why_untrusted_program, write_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

MARKER = "# ocfkit-shim:"
CREATED_MARKER = ".ocfkit-created"
DEFAULT_OCF_ROOT = "/usr/lib/ocf"

_TEMPLATE = """#!{interpreter} -IS
{marker} ocf:{provider}:{name} runs {ref} (made by ocfkit {version}; `ocfkit uninstall` removes it)
import sys
if sys.argv[1:2] in (["meta-data"], ["meta_data"], ["metadata"]):
    # Rendered at install time; the flavour rule is ocfkit.metadata.flavour_for's.
    from posix import environ
    if (environ.get(b"OCF_RA_VERSION_MAJOR", b"").strip(),
            environ.get(b"OCF_RA_VERSION_MINOR", b"").strip()) == (b"1", b"0"):
        sys.stdout.write(METADATA_1_0)
    else:
        sys.stdout.write(METADATA_1_1)
    raise SystemExit(0)
sys.path.extend({paths!r})
from {module} import {attribute}
from os import environ, stat
# Recurring monitors, the hot path, do not look; starts, stops and probes do.
if sys.argv[1:2] != ["monitor"] or environ.get("OCF_RESKEY_CRM_meta_interval", "0") in ("", "0"):
    for path, installed in {stamps!r}:
        try:
            newer = stat(path).st_mtime_ns > installed
        except OSError:
            newer = True
        if newer:
            from ocfkit.agent import startup_warnings
            startup_warnings.append(
                "this shim was written for the agent as installed before " + path + " changed: "
                "its meta-data may be stale; `ocfkit list` tells, `ocfkit install` rewrites it")
            break
raise SystemExit({attribute}().main())
"""


@attrs.frozen
class Shim:
    name: str
    path: Path
    reference: str


def import_roots(*modules: str) -> list[str]:
    """The sys.path entries the given modules and the installed packages come from."""
    roots: list[str] = []
    for module in modules:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise LookupError(f"cannot find module {module}")
        origin = Path(spec.origin).resolve()
        depth = module.count(".") + (2 if origin.name == "__init__.py" else 1)
        roots.append(str(origin.parents[depth - 1]))
    paths = sysconfig.get_paths()
    roots += [paths["purelib"], paths["platlib"]]
    return list(dict.fromkeys(roots))


def stamps(module: str) -> list[tuple[str, int]]:
    """(file, mtime) of the agent's module and of ocfkit: what an upgrade rewrites."""
    import ocfkit

    files = [sys.modules[module].__file__, ocfkit.__file__]
    return [(os.path.realpath(f), os.stat(f).st_mtime_ns) for f in dict.fromkeys(files) if f]


_NOTIFY_PREAMBLE = """#!/bin/sh
{marker} ocf:{provider}:{name} runs {ref} (made by ocfkit {version}; `ocfkit uninstall` removes it)
''':'
# /bin/sh answers the notifications {name} does not act on; to Python this is a string.
if [ "$1" = notify ]; then
  case "${{OCF_RESKEY_CRM_meta_notify_type:-}}-${{OCF_RESKEY_CRM_meta_notify_operation:-}}" in
    {events}) ;;
    *) exit 0 ;;
  esac
fi
exec {interpreter} -IS "$0" "$@"
'''
"""


def shim_source(name: str, provider: str, ref: str, interpreter: str | None = None) -> str:
    """The text of one shim.

    An agent that declares its :attr:`~ocfkit.ResourceAgent.notify_events`
    gets a shim that starts as a /bin/sh script: clone notifications come in
    rounds, one process per node, on the path of every move of a promotable
    clone, and the ones the agent ignores cost about a millisecond that way
    instead of a Python start.  The same file then runs as Python (the shell
    part is a string to Python; the shell never reaches the Python part).
    """
    agent = load(ref)
    module, _, attribute = ref.partition(":")
    interpreter = interpreter or os.path.realpath(sys.executable)
    head = _TEMPLATE.format(
        interpreter=interpreter,
        marker=MARKER,
        provider=provider,
        name=name,
        ref=ref,
        version=__version__,
        paths=import_roots(module, "ocfkit"),
        module=module,
        attribute=attribute,
        stamps=stamps(agent.__module__),
    )
    documents = (
        f"METADATA_1_1 = {render(agent, '1.1')!r}\nMETADATA_1_0 = {render(agent, '1.0')!r}\n"
    )
    # The documents go between the marker line and the code that uses them.
    first, _, rest = head.partition("import sys\n")
    if agent.notify_events is not None:
        first = _NOTIFY_PREAMBLE.format(
            marker=MARKER,
            provider=provider,
            name=name,
            ref=ref,
            version=__version__,
            # No event at all: a pattern no notification matches, so all are answered.
            events="|".join(sorted(agent.notify_events)) or "-",
            interpreter=shlex.quote(interpreter),
        )
    return first + documents + "import sys\n" + rest


def is_shim(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            stream.readline()
            return stream.readline().startswith(MARKER)
    except OSError:
        return False


def check_trusted(directory: Path, interpreter: str, modules: list[str]) -> None:
    """Refuse shims root would run when anyone but root could change what they run.

    The provider directory, the interpreter the shims name and every
    directory (and agent module) they import from must be root's alone
    (:mod:`ocfkit.trust`): whoever could write to one of them would have
    their code run as root by Pacemaker.  Raises :class:`UntrustedPathError`.
    """
    reason = why_untrusted(directory, missing_ok=True)
    for module in modules if reason is None else ():
        spec = importlib.util.find_spec(module)
        origin = [spec.origin] if spec is not None and spec.origin else []
        reason = why_untrusted_program(interpreter, [*import_roots(module, "ocfkit"), *origin])
        if reason is not None:
            break
    if reason is not None:
        raise UntrustedPathError(
            f"refusing to install shims that root would run: {reason}.  Install ocfkit and "
            "the agents into a virtual environment only root can write (e.g. under /opt), "
            "and the shims into a directory only root can write"
        )


def provider_dir(provider: str, ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT) -> Path:
    if not provider or "/" in provider or provider.startswith("."):
        raise ValueError(f"invalid provider name {provider!r}")
    return Path(ocf_root) / "resource.d" / provider


def install(
    provider: str,
    names: Sequence[str],
    *,
    ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT,
    interpreter: str | None = None,
    force: bool = False,
) -> list[Shim]:
    """Write shims for ``names`` (registered names or ``module:Class`` references).

    Nothing is installed that was not named: an agent nobody asked for in
    ``/usr/lib/ocf`` is a surprise (``registered()`` lists them all).
    """
    wanted = list(names)
    if not wanted:
        raise ValueError("name the agents to install (every registered one: --all)")
    directory = provider_dir(provider, ocf_root)
    interpreter = interpreter or os.path.realpath(sys.executable)
    check_trusted(
        directory.absolute(), interpreter, [reference(n).partition(":")[0] for n in wanted]
    )
    if not directory.exists():
        missing = [d for d in (directory, *directory.parents) if not d.exists()]
        directory.mkdir(parents=True)
        # Explicitly, whatever the umask: the controller runs meta-data as
        # hacluster, which must be able to reach the shims.
        for made in missing:
            made.chmod(0o755)
        (directory / CREATED_MARKER).touch()
    installed = []
    for wanted_name in wanted:
        ref = reference(wanted_name)
        name = wanted_name if ":" not in wanted_name else load(ref).name
        target = directory / name
        if target.exists() and not is_shim(target) and not force:
            raise FileExistsError(f"{target} exists and was not installed by ocfkit (use --force)")
        text = shim_source(name, provider, ref, interpreter)
        write_file(target, text.encode("utf-8"), 0o755)
        installed.append(Shim(name, target, ref))
    return installed


def uninstall(
    provider: str,
    names: list[str] | None = None,
    *,
    ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT,
) -> list[Path]:
    """Remove ocfkit shims (all of the provider's, or ``names``); nothing else is touched."""
    directory = provider_dir(provider, ocf_root)
    if not directory.is_dir():
        return []
    candidates = [directory / n for n in names] if names else sorted(directory.iterdir())
    removed = []
    for path in candidates:
        if path.is_file() and is_shim(path):
            path.unlink()
            removed.append(path)
    leftovers = [p for p in directory.iterdir() if p.name != CREATED_MARKER]
    if not leftovers and (directory / CREATED_MARKER).exists():
        (directory / CREATED_MARKER).unlink()
        directory.rmdir()
    return removed


@attrs.frozen
class InstalledShim:
    """A shim found under an OCF root, and whether its meta-data is still the agent's."""

    path: Path
    reference: str | None
    state: str  # "current", "stale" or "broken"
    detail: str = ""

    @property
    def provider(self) -> str:
        return self.path.parent.name


def marker_line(path: Path) -> str | None:
    """A shim's second line, where its marker is (``None`` if the file cannot be read)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            stream.readline()
            return stream.readline()
    except OSError:
        return None


def shim_reference(path: Path) -> str | None:
    """The ``module:Class`` a shim runs, from its marker line (``None`` if not a shim)."""
    marker = marker_line(path)
    if marker is None or not marker.startswith(MARKER):
        return None
    _, found, rest = marker.partition(" runs ")
    reference = rest.split(" ", 1)[0] if found else ""
    return reference if ":" in reference else None


def embedded_metadata(path: Path) -> dict[str, str]:
    """The meta-data documents a shim answers with, read from its source (never run)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    documents = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            documents[node.targets[0].id] = node.value.value
    return documents


def shim_state(path: Path) -> InstalledShim:
    """Compare a shim's embedded meta-data with what its agent, as installed now, renders."""
    reference = shim_reference(path)
    if reference is None:
        return InstalledShim(path, None, "broken", "no ocfkit marker line")
    try:
        agent = load(reference)
        documents = embedded_metadata(path)
        now = {"METADATA_1_1": render(agent, "1.1"), "METADATA_1_0": render(agent, "1.0")}
    except Exception as error:  # whatever importing someone's agent raises
        return InstalledShim(path, reference, "broken", f"{type(error).__name__}: {error}")
    differing = [name for name, text in now.items() if documents.get(name) != text]
    if differing:
        flavours = " and ".join(n.removeprefix("METADATA_").replace("_", ".") for n in differing)
        return InstalledShim(
            path,
            reference,
            "stale",
            f"its OCF {flavours} meta-data differs from what {reference} renders now: "
            f"run `ocfkit install --provider {path.parent.name} {path.name}` again",
        )
    return InstalledShim(path, reference, "current")


def installed_shims(ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT) -> list[InstalledShim]:
    """Every ocfkit shim under ``<ocf_root>/resource.d``, with its state."""
    base = Path(ocf_root) / "resource.d"
    if not base.is_dir():
        return []
    found = []
    for provider in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(provider.iterdir()):
            if path.is_file() and is_shim(path):
                found.append(shim_state(path))
    return found
