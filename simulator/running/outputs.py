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


LOCK = ".plansim.lock"
"""The lock file a command holds in the directory it writes: a POSIX record lock (the
kernel drops it when the process ends, even by ``kill -9``; worker processes forked
from the command do not inherit it) over a record naming the holder (command, pid,
host, start time)."""

STAGING = ".plansim-staging"
"""Where a locked command's files wait until the command has them all (then renamed
into place): a full disk or a ``kill -9`` leaves the directory as it was."""

_STAGES: list[tuple[Path, Path, list]] = []  # (directory, staging folder, [(staged, final)])


def _record(what: str) -> dict:
    import socket
    import time

    return {"command": what, "pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def _holder(text: str) -> str:
    """Who a lock record names, for a message ("plansim reach (pid 12 on h, started t)")."""
    import json

    try:
        rec = json.loads(text)
        return (f"{str(rec['command'])[:40]} (pid {int(rec['pid'])} on "
                f"{str(rec['host'])[:40]}, started {str(rec['started'])[:30]})")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "plansim command"


def _take_lock(directory: Path, what: str) -> int:
    """Open and lock ``directory``/.plansim.lock; refuse (InputError) if a live process
    holds it; take over, with one line, a lock a killed run left."""
    import json
    import sys

    path = directory / LOCK
    for _attempt in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise InputError(path, None, "is a symbolic link", "remove it") from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(path, None, "is not a regular file", "remove it")
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                held = os.pread(fd, 4096, 0).decode("utf-8", "replace")
                raise InputError(directory, None, f"another {_holder(held)} is writing into "
                                 "this directory", "wait for it to finish, or give another "
                                 "--out") from exc
            try:  # the file may have been removed by the holder we waited for: lock anew
                same = os.path.samestat(os.fstat(fd), os.lstat(path))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            left = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            if left:  # the record of a run that ended without releasing it (kill -9)
                print(f"plansim: {directory}: taking over the lock of {_holder(left)}, "
                      "which ended without releasing it", file=sys.stderr)
            data = json.dumps(_record(what)).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            return fd
        except BaseException:
            os.close(fd)
            raise
    raise InputError(directory, None, "the lock file keeps changing", "retry the command")


def _release(directory: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        if os.path.samestat(os.fstat(fd), os.lstat(directory / LOCK)):
            os.unlink(directory / LOCK)
    os.close(fd)


def _commit(directory: Path, staging: Path, files: list) -> None:
    """Move the staged files into place (renames on one disk: no space needed)."""
    folders = set()
    for staged, final in files:
        final.parent.mkdir(parents=True, exist_ok=True)
        _refuse_special(final, str(final), "file")  # a link planted meanwhile
        os.replace(staged, final)
        folders.add(final.parent)
    for folder in folders:
        with contextlib.suppress(OSError):
            fsync(folder)


_HELD: dict[Path, int] = {}  # directories this process holds the lock of


@contextlib.contextmanager
def locked(directory: Path, what: str = "plansim command", staged: bool = True):
    """Hold the lock of ``directory`` (made if missing) while a command writes into it:
    refused in one line while another live run holds it; a lock a killed run left is
    taken over with one line (:data:`LOCK`). With ``staged``, files written into
    ``directory`` through :func:`atomic_write` wait in a :data:`STAGING` folder and are
    moved into place when the block ends without error: a full disk, an error or a
    ``kill -9`` leave none of them. A block inside another of the same directory shares
    its lock."""
    directory = Path(directory)
    made = not directory.exists()
    _refuse_special(directory, str(directory), "dir")
    with _permission(directory):
        directory.mkdir(parents=True, exist_ok=True)
    key = directory.resolve()
    fd = None
    if key not in _HELD:
        with _permission(directory):
            fd = _HELD[key] = _take_lock(directory, what)
        for old in directory.glob(f"{STAGING}*"):  # what a killed run left (or a link)
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    stage = (directory, directory / f"{STAGING}-{os.getpid()}-{len(_STAGES)}", [])
    if staged:
        try:
            stage[1].mkdir(mode=0o700)  # ours: never a folder or link found there
        except BaseException:
            if fd is not None:
                _release(directory, _HELD.pop(key))
            raise
        _STAGES.append(stage)
    try:
        try:
            yield directory
            if staged:
                _STAGES.remove(stage)
                staged = False
                _commit(*stage)
        finally:
            if staged:
                _STAGES.remove(stage)
            shutil.rmtree(stage[1], ignore_errors=True)
    except BaseException:
        if fd is not None:
            _release(directory, _HELD.pop(key))
            fd = None
            if made:  # leave no empty directory behind a failed first run
                with contextlib.suppress(OSError):
                    directory.rmdir()
        raise
    finally:
        if fd is not None:
            _release(directory, _HELD.pop(key))


def _staged_path(path: Path) -> Path | None:
    """Where ``path`` is written while a :func:`locked` block of its directory stages it."""
    for directory, staging, files in reversed(_STAGES):
        try:
            rel = path.absolute().relative_to(directory.absolute())
        except ValueError:
            continue
        if rel.parts and (rel.parts[0].startswith(STAGING) or rel.parts[0] == LOCK):
            return None
        target = staging / rel
        files[:] = [(s, f) for s, f in files if f != path]
        files.append((target, path))
        return target
    return None


def current(path: Path | str) -> Path:
    """Where the file written to ``path`` is now (its staged copy inside a
    :func:`locked` block, else ``path``)."""
    path = Path(path)
    for _directory, _staging, files in reversed(_STAGES):
        for staged, final in files:
            if final == path:
                return staged
    return path


def umask() -> int:
    """The process's umask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


PARTIAL = ".partial"  # suffix of a file being written (``.NAME.XXXX.partial``)
STALE_SECONDS = 600


def _sweep_stale(path: Path) -> None:
    """Remove what a killed writer of ``path`` left (``kill -9``: its temporary file):
    a partial file no live writer holds a lock on (:func:`atomic_write` holds an
    open-file-description lock on its temporary file while it writes), or one older
    than :data:`STALE_SECONDS` (a system without such locks)."""
    import time

    for old in path.parent.glob(f".{glob_escape(path.name)}.*{PARTIAL}"):
        with contextlib.suppress(OSError):
            if time.time() - old.lstat().st_mtime > STALE_SECONDS or not _held(old):
                old.unlink()


_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", None)
"""Linux open-file-description locks: held by one descriptor (not dropped when a library
closes another descriptor of the same file, unlike ``lockf``), and apart from the
``flock`` locks HDF5 takes on a netCDF file it writes."""


def _lock(fd: int) -> bool:
    """Take the writer's lock on ``fd`` (whole file); False if another holds it or the
    system has no such locks."""
    if _OFD_SETLK is None:
        return False
    import struct

    try:
        fcntl.fcntl(fd, _OFD_SETLK, struct.pack("@hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    except OSError:
        return False
    return True


def _held(partial: Path) -> bool:
    """Whether a live writer holds the lock of ``partial`` (True when unsure)."""
    if _OFD_SETLK is None:
        return True
    try:
        fd = os.open(partial, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return True
    try:
        return not _lock(fd)
    finally:
        os.close(fd)  # drops a lock taken here


@contextlib.contextmanager
def _permission(path: Path):
    """A folder the user may not write (checked before any work, but it may change, or
    the check may not see it, e.g. as root on a read-only mount): one line."""
    try:
        yield
    except PermissionError as exc:
        raise InputError(path, None, "cannot be written here (permission denied)",
                         "give a path in a folder you can write") from exc
    except OSError as exc:
        if exc.errno != errno.EROFS:
            raise
        raise InputError(path, None, "is on a read-only file system",
                         "give a path on a disk you can write") from exc


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
    with _permission(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    _refuse_special(path, str(path), "file")  # again, at the moment of writing
    if not replace and os.path.lexists(path):
        raise InputError(path, None, "already exists", "give another path, or add --force "
                         "to replace it")
    final, path = path, (_staged_path(path) or path)  # inside a locked block: staged
    if path != final:
        with _permission(final):
            path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(path)
    with _permission(final):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL, dir=path.parent)
    _lock(fd)  # held while this writer lives: the next writer sweeps it after a kill -9
    try:
        os.chmod(tmp, 0o666 & ~umask())
        try:
            write(Path(tmp))
            fsync(Path(tmp))
        except Exception as exc:
            free = shutil.disk_usage(path.parent).free
            full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
            if full or (size_hint and free < size_hint):
                where = next((f"nothing was written into {d}" for d, st, _ in _STAGES
                              if st in path.parents), "nothing was written")
                needs = f"needs about {size_hint / MB:.1f} MB, " if size_hint else ""
                raise DiskFullError(
                    f"{final}: disk full while writing ({needs}{free / MB:.1f} MB free); "
                    f"fix: free space or write to another disk; {where}") from exc
            raise
        _refuse_special(path, str(path), "file")  # a link planted while writing
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            fsync(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return final


def fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
