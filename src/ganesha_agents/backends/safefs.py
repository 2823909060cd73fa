"""File system steps root can take on paths other people might steer.

The agents run as root; ``/var/lib`` and the shared state volume are
places where a path component swapped for a symlink, or a directory another
user can write, would let someone else choose what root moves, links or
removes.  The rules every step here keeps:

- a path is resolved one component at a time, from ``/``, each directory
  opened with ``O_NOFOLLOW`` and checked once open (``fstat``): it must
  belong to a trusted owner (root) and not be writable by group or others,
  unless it is sticky (``/tmp``), where others cannot rename or remove what
  they do not own;
- a symlink met on the way is followed only when it belongs to a trusted
  owner (it then lives in a directory only root can change);
- everything after that is relative to an open directory (``dir_fd``): the
  directory cannot be swapped underneath, and nothing at the end of a path is
  followed (``lstat``, ``O_NOFOLLOW``, ``readlink``);
- what is removed is only ever a symlink (never through one) or an empty
  marker file, and names are replaced by ``rename``, never by removing first.
"""

from __future__ import annotations

import errno
import os
import stat

from ocfkit.errors import GenericError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection

OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: renameat2(2) flags (linux/fs.h).
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
MAX_LINKS = 40
MOUNTINFO = "/proc/self/mountinfo"


class FileSystemError(GenericError):
    """A path cannot be used, or not safely; the reason says which and why."""


def trusted_owners(owner_uid: int) -> frozenset[int]:
    """Whose directories and links may be followed: root and ``owner_uid``."""
    return frozenset({0, owner_uid})


def writable_by_others(seen: os.stat_result) -> bool:
    return bool(seen.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def trust_problem(seen: os.stat_result, owners: Collection[int]) -> str | None:
    """Why a directory cannot be walked through safely, or None when it can."""
    if seen.st_uid not in owners:
        return f"owned by uid {seen.st_uid}"
    if writable_by_others(seen) and not seen.st_mode & stat.S_ISVTX:
        return f"writable by group or others (mode {stat.S_IMODE(seen.st_mode):04o})"
    return None


def open_trusted_directory(path: str, owners: Collection[int], what: str) -> tuple[int, str]:
    """Open the directory ``path`` names, walking it as this module's rules say.

    Returns the open directory and the path it resolved to (no symlinks, no
    ``..``).  Raises :class:`FileSystemError` naming the first component that
    is missing, not a directory, or not to be trusted.
    """
    if not path.startswith("/"):
        raise FileSystemError(f"{what} {path!r} is not an absolute path")
    pending = [part for part in reversed(path.split("/")) if part not in ("", ".")]
    names: list[str] = []
    stack = [_open_root(owners, what)]
    links = 0
    try:
        while pending:
            name = pending.pop()
            if name == "..":
                if names:
                    names.pop()
                    os.close(stack.pop())
                continue
            here = "/" + "/".join([*names, name])
            seen = lstat_at(stack[-1], name, here)
            if seen is None:
                raise FileSystemError(f"{what} {path}: {here} does not exist")
            if stat.S_ISLNK(seen.st_mode):
                links += 1
                if links > MAX_LINKS:
                    raise FileSystemError(f"{what} {path}: too many symbolic links")
                if seen.st_uid not in owners:
                    raise FileSystemError(
                        f"{what} {path}: {here} is a link owned by uid {seen.st_uid}, not followed"
                    )
                target = read_link_at(stack[-1], name, here)
                if target.startswith("/"):
                    for fd in stack[1:]:
                        os.close(fd)
                    del stack[1:]
                    names.clear()
                pending.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
                continue
            if not stat.S_ISDIR(seen.st_mode):
                raise FileSystemError(f"{what} {path}: {here} is not a directory")
            stack.append(_open_child(stack[-1], name, here))
            names.append(name)
            problem = trust_problem(os.fstat(stack[-1]), owners)
            if problem:
                raise FileSystemError(f"{what} {path}: {here} is {problem}, not trusted")
        result = stack.pop()
        return result, "/" + "/".join(names)
    finally:
        for fd in stack:
            os.close(fd)


def _open_root(owners: Collection[int], what: str) -> int:
    fd = os.open("/", OPEN_DIRECTORY)
    problem = trust_problem(os.fstat(fd), owners)
    if problem:
        os.close(fd)
        raise FileSystemError(f"{what}: / is {problem}, not trusted")
    return fd


def _open_child(parent: int, name: str, here: str) -> int:
    try:
        return os.open(name, OPEN_DIRECTORY, dir_fd=parent)
    except OSError as error:
        raise FileSystemError(f"cannot open {here}: {error.strerror}") from error


def lstat_at(directory: int, name: str, here: str) -> os.stat_result | None:
    """The entry itself (never what it links to); None when there is none."""
    try:
        return os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise FileSystemError(f"cannot look at {here}: {error.strerror}") from error


def read_link_at(directory: int, name: str, here: str) -> str:
    try:
        return os.readlink(name, dir_fd=directory)
    except OSError as error:
        raise FileSystemError(f"cannot read the link {here}: {error.strerror}") from error


def open_directory_at(directory: int, name: str, here: str) -> int:
    """A child directory, never through a symlink (``O_NOFOLLOW``)."""
    return _open_child(directory, name, here)


def mount_type(path: str) -> str | None:
    """The type of the file system mounted exactly at ``path``; None when nothing is.

    ``path`` must be resolved (:func:`open_trusted_directory` gives it).  The
    kernel's own list (``/proc/self/mountinfo``) decides, so a bind mount
    counts and a plain directory does not; without it, a directory on another
    device than its parent counts as a mount point of unknown type.
    """
    try:
        with open(MOUNTINFO, "rb") as stream:
            table = stream.read()
    except OSError:
        return _mounted_by_device(path)
    found = None
    for line in table.split(b"\n"):
        fields = line.split(b" ")
        if len(fields) < 10 or b"-" not in fields[6:]:
            continue
        if _unescape(fields[4]) == os.fsencode(path):
            found = fields[fields.index(b"-", 6) + 1].decode("ascii", "replace")
    return found


def _unescape(field: bytes) -> bytes:
    r"""mountinfo writes space, tab, newline and backslash as ``\ooo``."""
    if b"\\" not in field:
        return field
    out = bytearray()
    index = 0
    while index < len(field):
        chunk = field[index + 1 : index + 4]
        if field[index] == 0x5C and len(chunk) == 3 and all(0x30 <= c <= 0x37 for c in chunk):
            out.append(int(chunk, 8))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return bytes(out)


def _mounted_by_device(path: str) -> str | None:
    try:
        here = os.stat(path, follow_symlinks=False)
        parent = os.stat(os.path.dirname(path) or "/", follow_symlinks=False)
    except OSError:
        return None
    if here.st_dev != parent.st_dev or here.st_ino == parent.st_ino:
        return "unknown"
    return None


_renameat2: Callable[[int, bytes, int, bytes, int], int] | None = None
_get_errno: Callable[[], int] | None = None


def rename_at(directory: int, source: str, destination: str, flags: int) -> bool:
    """``renameat2`` within one open directory; False when the file system cannot.

    ``RENAME_EXCHANGE`` swaps two names atomically whatever they are (a
    symlink and a directory: the one thing plain ``rename`` cannot do);
    ``RENAME_NOREPLACE`` never replaces the destination.  Some file systems
    (and old kernels) answer EINVAL: the caller then takes another way.
    """
    global _renameat2, _get_errno
    if _renameat2 is None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "renameat2", None)
        if function is None:
            return False
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        function.argtypes.append(ctypes.c_uint)
        function.restype = ctypes.c_int
        _renameat2 = function
        _get_errno = ctypes.get_errno
    assert _get_errno is not None
    if _renameat2(directory, os.fsencode(source), directory, os.fsencode(destination), flags) == 0:
        return True
    code = _get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), source, None, destination)


def rename_noreplace(directory: int, source: str, destination: str) -> None:
    """Rename ``source`` to ``destination`` in ``directory``, never replacing anything.

    Where ``RENAME_NOREPLACE`` is not supported the destination is checked
    first; the caller holds a directory only root can write, so nobody can
    slip a name in between.
    """
    if rename_at(directory, source, destination, RENAME_NOREPLACE):
        return
    try:
        os.stat(destination, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(source, destination, src_dir_fd=directory, dst_dir_fd=directory)
        return
    raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), destination)


def sync_directory(directory: int) -> None:
    """Make the renames in ``directory`` durable (a crash must find one of the states)."""
    try:
        os.fsync(directory)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EROFS):
            raise
