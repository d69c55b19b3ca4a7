"""Replacing a file atomically: a temporary file beside the target, fsynced, then renamed over it.

A reader sees the old file or the new one, never a part of either, whatever happens to the
writer. Only a regular file (or a new name) is ever replaced: a directory, a device, a FIFO or a
socket under the target name is refused before anything is written (renaming over ``/dev/full``
would replace the device node with a file).

Temporary names are ``.{name}.{pid}.{8 hex digits}.tmp`` in the target's directory, with
``name`` cut short (at a byte boundary of its UTF-8 form) where the whole would pass the file
system's name limit, so that every legal target name works. The writer's process id in the name
lets the next save of the same target recognize what a killed writer (``kill -9``, a crash) left
behind: temporary files whose process is gone are removed, those of running processes are kept.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "m.bin")
>>> write_atomically(path, lambda f: f.write(b"new")).read_bytes()
b'new'
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any, BinaryIO, Callable

_TEMP = re.compile(r"(\d{1,10})\.[0-9a-f]{8}\.tmp", flags=re.ASCII)  # after the ".{name}." prefix
_TEMP_TAIL_MAX = len(".4294967295.0123abcd.tmp")  # the longest pid a system hands out, and more
_NAME_MAX_DEFAULT = 255

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def checked_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a ``Path`` if a file may be written there; raises naming what is wrong."""
    text = os.fsdecode(os.fspath(path))
    if not text:
        raise ValueError("the file name is empty: give the path of the file to write, e.g. 'model.wcm'")
    target = Path(text)
    if text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep)):
        raise IsADirectoryError(errno.EISDIR, "names a directory, not a file", text)
    try:
        mode = os.stat(target).st_mode
    except OSError:  # absent (the usual case) or unreachable: opening the temporary file will tell
        return target
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", text)
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
        raise FileExistsError(errno.EEXIST, f"exists and is {kind}; only a regular file is ever replaced", text)
    return target


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], Any]) -> Path:
    """Write a file with ``write(f)`` into a temporary file, then rename it over ``path``.

    On any error (or interrupt) the temporary file is removed and a previous file at ``path`` is
    intact. Returns ``path`` as a ``Path``.
    """
    target = checked_target(path)
    directory = target.parent
    prefix = _temp_prefix(target.name, directory)
    remove_abandoned(directory, prefix)
    tmp = directory / f"{prefix}{os.getpid()}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
    except OSError as error:
        raise type(error)(error.errno, f"cannot create a temporary file in {directory} ({error.strerror})",
                          os.fspath(target)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)
    return target


def remove_abandoned(directory: Path, prefix: str) -> list[str]:
    """Remove the temporary files ``{prefix}{pid}.{hex}.tmp`` of processes that no longer run.

    Returns the names removed. Only on POSIX systems, where ``kill(pid, 0)`` asks whether a
    process exists without touching it.
    """
    if os.name != "posix":
        return []
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        match = _TEMP.fullmatch(entry.name[len(prefix):]) if entry.name.startswith(prefix) else None
        if match is None or _process_exists(int(match.group(1))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:  # another writer removed it first, or the directory is read-only
            pass
    return removed


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # it exists but is not ours (EPERM), or the id is impossible
        return True
    return True


def _temp_prefix(name: str, directory: Path) -> str:
    """``.{name}.``, with ``name`` cut so that a temporary name fits the file system's limit."""
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no such directory yet
        limit = _NAME_MAX_DEFAULT
    if limit is None or limit <= 0:
        limit = _NAME_MAX_DEFAULT
    encoded = os.fsencode(name)
    room = max(1, limit - _TEMP_TAIL_MAX - 2)  # the leading and separating dots
    if len(encoded) > room:
        encoded = encoded[:room]  # a cut multibyte character decodes as an escape: still unique bytes
    return f".{os.fsdecode(encoded)}."


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some platforms cannot open directories, which is harmless."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
