"""Output locations: checked before any work, locked while written, replaced atomically.

A result file may be a new path in a writable directory or an existing regular file
that the user asked to replace (``--force``) or that holds the result of the same
run (same inputs, so the same numbers). Devices, pipes, symbolic links and
directories where a file is meant are refused, as is a disk without room for the
result. Files are created with the user's umask (not the 0600 of a temporary file).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError, PlansimError
from ..inputs import validate

MB = 1 << 20


class DiskFullError(PlansimError):
    """The disk filled up while a result was written (nothing was left half-written)."""


def _existing_ancestor(path: Path) -> Path:
    for parent in [path, *path.parents]:
        if os.path.lexists(parent):
            return parent
    return Path(".")


def _check_parent(path: Path, option: str) -> None:
    """The directory that will hold ``path`` exists or can be made, and is writable."""
    ancestor = _existing_ancestor(path.parent if str(path.parent) else Path("."))
    if not ancestor.is_dir():
        raise InputError(option, None, f"{ancestor} is not a directory, so {path} cannot be "
                         "made", f"give {option} a path under a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(option, None, f"{ancestor} is not writable",
                         f"give {option} a path in a directory you can write")


def _check_space(path: Path, needed_bytes: int, option: str) -> None:
    if not needed_bytes:
        return
    free = shutil.disk_usage(_existing_ancestor(path.parent)).free
    if free < needed_bytes:
        raise InputError(option, None, f"{path} needs about {needed_bytes / MB:.0f} MB, "
                         f"{free / MB:.0f} MB are free", f"free space or give {option} on "
                         "another disk")


def _refuse_special(path: Path, option: str, want: str) -> None:
    if not os.path.lexists(path):
        return
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise InputError(option, None, f"{path} is a symbolic link",
                         f"give {option} the real path")
    if want == "file" and stat.S_ISDIR(mode):
        raise InputError(option, None, f"{path} is a directory, a file is meant",
                         f"give {option} a file path")
    if want == "dir" and not stat.S_ISDIR(mode):
        raise InputError(option, None, f"{path} is not a directory",
                         f"give {option} a directory")
    if want == "file" and not stat.S_ISREG(mode):
        raise InputError(option, None, f"{path} is not a regular file (a device, pipe "
                         "or socket)", f"give {option} the path of a regular file")


def check_path_text(value: str | None, option: str) -> None:
    if value is not None and not str(value).strip():
        raise InputError(option, None, "empty path", f"give {option} a path, or leave "
                         "it out for the default")
    if value is not None:
        validate.path_text("command line", option, str(value), f"give {option} a usable path")


def check_file(path: Path | str, *, option: str = "--out", force: bool = False,
               same_run: Callable[[Path], bool] | None = None,
               needed_bytes: int = 0) -> Path:
    """``path`` may receive a result file (raises InputError before any work if not)."""
    path = Path(path)
    check_path_text(str(path), option)
    _refuse_special(path, option, "file")
    if path.exists() and not force and not (same_run is not None and same_run(path)):
        raise InputError(option, None, f"{path} already holds a result of another run",
                         f"give another {option}, or add --force to replace it")
    _check_parent(path, option)
    _check_space(path, needed_bytes, option)
    return path


def check_dir(path: Path | str, files: tuple[str, ...], *, option: str = "--out",
              force: bool = False, same_run: Callable[[Path], bool] | None = None,
              needed_bytes: int = 0) -> Path:
    """``path`` may receive the result ``files`` (raises InputError before any work if not)."""
    path = Path(path)
    check_path_text(str(path), option)
    _refuse_special(path, option, "dir")
    present = [name for name in files if os.path.lexists(path / name)]
    for name in present:
        _refuse_special(path / name, option, "file")
    if present and not force and not (same_run is not None and same_run(path)):
        raise InputError(option, None, f"{path} already holds the result of another run "
                         f"({', '.join(present)})",
                         f"give another {option}, or add --force to replace it")
    _check_parent(path / files[0], option)
    _check_space(path / files[0], needed_bytes, option)
    return path


@contextlib.contextmanager
def locked(directory: Path, what: str = "plansim command"):
    """Hold an exclusive lock on ``directory`` (made if missing); refuse if another holds it."""
    directory = Path(directory)
    made = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InputError(directory, None, f"another {what} is writing into this "
                             "directory", "wait for it to finish, or give another --out") from exc
        try:
            yield directory
        except BaseException:
            if made:  # leave no empty directory behind a failed first run
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise
    finally:
        os.close(fd)


def umask() -> int:
    """The process's umask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


PARTIAL = ".partial"  # suffix of a file being written (``.NAME.XXXX.partial``)
STALE_SECONDS = 600


def _sweep_stale(path: Path) -> None:
    """Remove what a killed writer of ``path`` left (``kill -9``: its temporary file)."""
    import time

    for old in path.parent.glob(f".{glob_escape(path.name)}.*{PARTIAL}"):
        with contextlib.suppress(OSError):
            if time.time() - old.lstat().st_mtime > STALE_SECONDS:
                old.unlink()


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def atomic_write(path: Path | str, write: Callable[[Path], None], size_hint: int = 0,
                 replace: bool = True) -> Path:
    """The one writer of result files: a temporary file beside ``path`` (``.NAME.XXXX.partial``),
    fsync'ed, then renamed over ``path``.

    Refuses (:class:`~simulator.errors.InputError`) a ``path`` that is a symbolic link, a
    device, a pipe or a directory, and an existing file unless ``replace`` (the command's
    ``--force`` or its own earlier result, checked before any work).  The file gets mode
    ``0666 & ~umask``. A full disk raises :class:`DiskFullError` naming the path and the
    space needed; the temporary file is removed, and one left by a killed writer is
    removed by the next write of the same path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _refuse_special(path, str(path), "file")  # again, at the moment of writing
    if not replace and os.path.lexists(path):
        raise InputError(path, None, "already exists", "give another path, or add --force "
                         "to replace it")
    _sweep_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL, dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~umask())
        try:
            write(Path(tmp))
            fsync(Path(tmp))
        except Exception as exc:
            free = shutil.disk_usage(path.parent).free
            full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
            if full or (size_hint and free < size_hint):
                raise DiskFullError(
                    f"{path}: disk full while writing (needs about "
                    f"{max(size_hint, 1) / MB:.1f} MB, {free / MB:.1f} MB free); fix: free "
                    "space or write to another disk; nothing was written") from exc
            raise
        _refuse_special(path, str(path), "file")  # a link planted while writing
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            fsync(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
