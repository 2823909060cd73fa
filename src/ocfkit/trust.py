"""Whether a path is in root's hands alone, and writing files without being steered.

Everything ocfkit does runs as root: Pacemaker runs the agents as root, the
lab runs a whole cluster as root.  A file root reads, writes or executes is
only as safe as the directories leading to it: whoever can write to one of
them can replace what lies below (rename a directory away and put their own
in its place, plant a symbolic link where root is about to write).  So the
question asked before root trusts a path is about the whole path, and the
rule is the one OpenSSH and sudo apply:

- every component, from ``/`` down, is owned by root (or by the user running
  the code, so that an unprivileged user's own tests still work; for root
  that is root again);
- no directory on the way is writable by its group or by others, unless it
  carries the sticky bit (``/tmp``, ``/var/tmp``) and is not the last
  component: there, others may create entries but cannot rename or remove
  root's, and the next component must be root's;
- the last component, if a regular file or a directory, is not writable by
  its group or by others (a POSIX ACL granting write shows in the group
  bits, so it is caught too);
- a symbolic link is followed only when it is itself root's (and therefore
  sits in a directory only root can write); its target is then held to the
  same rule.

Only :mod:`os` and :mod:`stat` are used: agents call this on every monitor.
"""

from __future__ import annotations

import os
import stat

MAX_SYMLINKS = 40
"""As many as the kernel follows in one lookup (Linux's MAXSYMLINKS)."""

_WRITABLE = stat.S_IWGRP | stat.S_IWOTH


class UntrustedPathError(PermissionError):
    """A path root was about to use could be changed by someone other than root."""


def trusted_owners() -> frozenset[int]:
    """root, and the effective user (the same as root when running as root)."""
    return frozenset((0, os.geteuid()))


def owner_name(uid: int) -> str:
    """``nobody (uid 65534)``, or the bare uid when the user is unknown."""
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def writers(mode: int) -> str:
    """Who besides the owner may write, in words (empty when nobody)."""
    group = bool(mode & stat.S_IWGRP)
    others = bool(mode & stat.S_IWOTH)
    if group and others:
        return "its group and by others"
    return "its group" if group else ("others" if others else "")


def why_untrusted(path: str | os.PathLike[str], *, missing_ok: bool = False) -> str | None:
    """Why ``path`` is not in root's hands alone, or ``None`` when it is (see the module).

    With ``missing_ok``, a path that ends early is trusted when what exists
    of it is: root may then create the rest, and nobody else can.
    """
    text = os.fspath(path)
    if not text.startswith("/"):
        return f"{text!r} is not an absolute path"
    owners = trusted_owners()
    pending = _components(text)
    current = "/"
    reason = _judge(current, os.lstat(current), owners, last=not pending)
    if reason is not None:
        return reason
    links = 0
    while pending:
        name = pending.pop()
        if name == "..":
            # ``current`` holds no symbolic link, so its parent is the lexical one.
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, name)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            return None if missing_ok else f"{candidate} does not exist"
        except OSError as error:
            return f"cannot examine {candidate}: {error.strerror}"
        if stat.S_ISLNK(info.st_mode):
            if info.st_uid not in owners:
                return (
                    f"{candidate} is a symbolic link owned by {owner_name(info.st_uid)}, "
                    "which root does not follow"
                )
            links += 1
            if links > MAX_SYMLINKS:
                return f"{text}: more than {MAX_SYMLINKS} symbolic links"
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = "/"
            pending += _components(target)
            continue
        reason = _judge(candidate, info, owners, last=not pending)
        if reason is not None:
            return reason
        current = candidate
    return None


def _components(path: str) -> list[str]:
    """The names of ``path``, last first (so that ``pop`` takes the next one)."""
    return [name for name in reversed(path.split("/")) if name not in ("", ".")]


def _judge(path: str, info: os.stat_result, owners: frozenset[int], *, last: bool) -> str | None:
    if info.st_uid not in owners:
        return f"{path} is owned by {owner_name(info.st_uid)}, not by root"
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        if mode & _WRITABLE and (last or not mode & stat.S_ISVTX):
            return f"{path} is writable by {writers(mode)} (mode {stat.filemode(mode)})"
        return None
    if not last:
        return f"{path} is not a directory"
    if stat.S_ISREG(mode) and mode & _WRITABLE:
        return f"{path} is writable by {writers(mode)} (mode {stat.filemode(mode)})"
    return None


def check(path: str | os.PathLike[str], *, missing_ok: bool = False) -> None:
    """:func:`why_untrusted`, raising :class:`UntrustedPathError` with the reason."""
    reason = why_untrusted(path, missing_ok=missing_ok)
    if reason is not None:
        raise UntrustedPathError(reason)


def make_directories(path: str | os.PathLike[str], mode: int = 0o755) -> list[str]:
    """Create ``path`` and its missing parents with exactly ``mode``; returns those created.

    Nothing is created unless what exists of the path is trusted, and the
    whole path is checked again at the end: a directory someone else made
    first (in a sticky directory such as /var/tmp) is refused, not adopted.
    Raises :class:`UntrustedPathError`.
    """
    text = os.fspath(path)
    check(text, missing_ok=True)
    made = []
    prefix = ""
    for name in text.split("/")[1:]:
        if not name:
            continue
        prefix += "/" + name
        if os.path.lexists(prefix):
            continue
        try:
            os.mkdir(prefix, mode)
        except FileExistsError:
            continue  # someone was quicker: the final check judges it
        _set_mode(prefix, mode)  # whatever the umask took away
        made.append(prefix)
    check(text)
    return made


def _set_mode(directory: str, mode: int) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def write_file(path: str | os.PathLike[str], data: bytes, mode: int, *, sync: bool = True) -> None:
    """Replace ``path`` atomically with ``data``: readers see the old file or the new one.

    The new content goes to a temporary file of an unpredictable name,
    created exclusively and never through a symbolic link, given ``mode``
    whatever the umask, then renamed over ``path``; a symbolic link at
    ``path`` is replaced, not followed.  The directory must be trusted
    (the caller checks it): then nobody else can interfere with either name.
    """
    text = os.fspath(path)
    directory, name = os.path.split(text)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, text)
    except BaseException:
        try:  # noqa: SIM105 (contextlib is kept off the action path)
            os.unlink(temporary)
        except OSError:
            pass
        raise


def why_untrusted_program(interpreter: str, paths: list[str]) -> str | None:
    """Why root running ``interpreter`` with ``paths`` on ``sys.path`` is not safe, or ``None``.

    The interpreter must be a trusted regular file, executable; each
    directory code is imported from must be trusted, or missing where only
    root could create it.
    """
    reason = why_untrusted(interpreter)
    if reason is not None:
        return f"the interpreter {interpreter}: {reason}"
    if not os.access(interpreter, os.X_OK) or not os.path.isfile(interpreter):
        return f"the interpreter {interpreter} is not an executable file"
    for path in paths:
        reason = why_untrusted(path, missing_ok=True)
        if reason is not None:
            return f"code is imported from {path}: {reason}"
    return None
