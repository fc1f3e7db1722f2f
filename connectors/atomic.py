"""Replace output files all at once, so a crash or a full disk never leaves half a file.

Writers write a temporary file in the destination's own folder (same file system, so
`os.replace` is atomic), flush it to disk, then swap it in. Until that swap the previous
file stays exactly as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sheetsync.errors import ExitCode, SheetsyncError


class OutputError(SheetsyncError, OSError):
    """An output that could not be written; the message names the file and the cause."""

    exit_code = ExitCode.FAILED


def describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (the file or its folder is read-only, or the file is open elsewhere)"
    if exc.errno == errno.ETXTBSY:
        return "the file is locked by another program"
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):  # mkdir over a file, or a file where a folder should be
        where = f"{exc.filename} is" if exc.filename and exc.errno == errno.EEXIST else "part of its path is"
        return f"{where} a file, not a folder (move the file, or name another folder)"
    return exc.strerror or str(exc)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` and move the result over `path`; on any failure `path` is untouched.

    A symlink is written through (the file it points to is replaced, the link stays); a
    path that is a folder, a device or a pipe is refused rather than replaced by a file.
    """
    with staged_write(path, write):
        pass


@contextmanager
def staged_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Iterator[Path]:
    """`atomic_write` that the block after it can undo: the new file is written in full and put
    in place on entering, and the old one is put back if the block fails.

    A database commit inside the block decides: one that fails leaves `path` as it was. The
    old file waits beside it meanwhile (a hard link, no copy), under a temporary name that the
    next write removes should the process be killed in between.
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "a device, pipe or socket"
        raise OutputError(f"{Path(path)}: cannot write: is {kind}, not a file (name a file to write)",
                          file=str(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(target)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {describe_os_error(exc)}", file=str(target)) from None
    tmp = Path(tmp_name)
    previous = tmp.with_name(tmp.name.removesuffix(".tmp") + ".previous.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        existed = target.exists()
        if existed and not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "read-only", str(target))
        mode = target.stat().st_mode & 0o777 if existed else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        if existed:
            _keep(target, previous)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        previous.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {describe_os_error(exc)}", file=str(target)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        previous.unlink(missing_ok=True)
        raise
    try:
        yield target
    except BaseException:  # the block failed: the old file goes back (or the new one goes)
        with suppress(OSError):
            if existed:
                os.replace(previous, target)
            else:
                target.unlink(missing_ok=True)
        raise
    finally:
        previous.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _keep(target: Path, previous: Path) -> None:
    """`target` also under the name `previous`: a hard link where the file system has them, else a copy."""
    try:
        os.link(target, previous)
    except OSError:
        shutil.copy2(target, previous)


def _remove_orphans(target: Path) -> None:
    """Delete temporary files a killed earlier run left beside `target` (only ours, by name).

    Runs never overlap (the runner lock), so any such file belongs to a dead process.
    """
    for orphan in target.parent.glob(f".{glob_escape(target.name)}.*.tmp"):
        orphan.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
