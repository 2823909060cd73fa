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

Pacemaker runs shims as root, so a shim is only written where nobody but root
could change what it runs (:func:`check_trusted`), and it is written
atomically, never through a symbolic link.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

import attrs

from ocfkit import __version__
from ocfkit.metadata import render
from ocfkit.registry import load, reference
from ocfkit.trust import UntrustedPathError, why_untrusted, why_untrusted_program, write_file

MARKER = "# ocfkit-shim:"
CREATED_MARKER = ".ocfkit-created"
DEFAULT_OCF_ROOT = "/usr/lib/ocf"

_TEMPLATE = """#!{interpreter} -IS
{marker} ocf:{provider}:{name} runs {ref} (made by ocfkit {version}; `ocfkit uninstall` removes it)
import sys
if sys.argv[1:2] == ["meta-data"]:
    # Rendered at install time; the flavour rule is ocfkit.metadata.flavour_for's.
    import os
    if (os.environ.get("OCF_RA_VERSION_MAJOR", "").strip(),
            os.environ.get("OCF_RA_VERSION_MINOR", "").strip()) == ("1", "0"):
        sys.stdout.write(METADATA_1_0)
    else:
        sys.stdout.write(METADATA_1_1)
    raise SystemExit(0)
sys.path.extend({paths!r})
from {module} import {attribute}
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


def shim_source(name: str, provider: str, ref: str, interpreter: str | None = None) -> str:
    """The text of one shim."""
    agent = load(ref)
    module, _, attribute = ref.partition(":")
    head = _TEMPLATE.format(
        interpreter=interpreter or os.path.realpath(sys.executable),
        marker=MARKER,
        provider=provider,
        name=name,
        ref=ref,
        version=__version__,
        paths=import_roots(module, "ocfkit"),
        module=module,
        attribute=attribute,
    )
    documents = (
        f"METADATA_1_1 = {render(agent, '1.1')!r}\nMETADATA_1_0 = {render(agent, '1.0')!r}\n"
    )
    # The documents go between the marker line and the code that uses them.
    first, _, rest = head.partition("import sys\n")
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
    names: list[str] | None = None,
    *,
    ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT,
    interpreter: str | None = None,
    force: bool = False,
) -> list[Shim]:
    """Write shims for ``names`` (registered names or references; default: all registered)."""
    from ocfkit.registry import registered

    wanted = names or sorted(registered())
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
