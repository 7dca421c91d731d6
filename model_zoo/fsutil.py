"""Atomic folder writes, shared by the checkpoint format, the registry and the data cache.

Every temporary file or folder is named after the process that made it,
`<stem><pid>.<host>-<random>`, so that a later run can tell debris (its maker was killed) from
the work of a process that is still running: `remove_stale_temporaries` removes only the
former, or a temporary older than `STALE_AFTER` whatever its maker.
"""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time

STALE_AFTER = 7 * 24 * 3600  # seconds; also covers a temporary whose PID has been reused
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def permissions(directory=False):
    """The mode `mkdir`/`open` would give a new folder/file under the current umask."""
    return (0o777 if directory else 0o666) & ~_umask()


def _umask():
    """The process's umask. Linux reports it in /proc; elsewhere it is read by setting it, which
    briefly changes it for every thread (Python has no `os.getumask` before 3.13)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def temporary_prefix(stem):
    """`stem` followed by this process's tag, for `tempfile.mkstemp`/`mkdtemp(prefix=...)`."""
    return f"{stem}{os.getpid()}.{_HOST}-"


_TAG = r"(\d+)\.([0-9a-f]{8})-"  # what `temporary_prefix` appends: `<pid>.<host>-`
# Any folder `staging_folder` makes, whatever its final name: `.<name>.tmp-<pid>.<host>-...`
_ANY_STAGING = re.compile(r"\..+\.tmp-" + _TAG)


def _maker_is_gone(match):
    """Whether the process a temporary's tag names ran on this host and has ended."""
    if not match or match.group(2) != _HOST:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass  # alive (PermissionError: another user's process)
    return False


def _is_stale(path, stem, now):
    if _maker_is_gone(re.match(re.escape(stem) + _TAG, os.path.basename(path))):
        return True
    try:
        return now - os.lstat(path).st_mtime > STALE_AFTER
    except FileNotFoundError:
        return False


def _remove(entry):
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(entry.path)


def _entries(parent):
    try:
        return list(os.scandir(parent))
    except FileNotFoundError:
        return []


def remove_stale_temporaries(parent, stem, suffix=""):
    """Removes the temporaries `<parent>/<stem>*<suffix>` whose maker no longer runs.

    A temporary made by a live process (on this host, or on another one sharing the folder)
    is kept unless it is older than `STALE_AFTER`; so is one named without a process tag
    (made by an older version). Returns the removed paths.
    """
    removed = []
    now = time.time()
    for entry in _entries(parent):
        if entry.name.startswith(stem) and entry.name.endswith(suffix) and \
                _is_stale(entry.path, stem, now):
            _remove(entry)
            removed.append(entry.path)
    return removed


def remove_dead_staging_folders(parent):
    """Removes every staging folder in `parent`, for any final name, whose maker on this host
    has ended (a killed `finetune --out A` leaves `.A.tmp-*`, cleaned by a later write of B
    beside it). Only tagged names whose process is gone: nothing of a live process, and no
    other hidden file of the user's, is touched. Returns the removed paths."""
    removed = []
    for entry in _entries(parent):
        if _maker_is_gone(_ANY_STAGING.match(entry.name)):
            _remove(entry)
            removed.append(entry.path)
    return removed


@contextlib.contextmanager
def staging_folder(path):
    """`with staging_folder(final) as tmp:` a fresh folder beside `final`, removed afterwards
    unless it was moved away; stale ones left there by killed processes are removed first."""
    path = os.path.abspath(os.fspath(path))
    parent, stem = os.path.dirname(path), f".{os.path.basename(path)}.tmp-"
    os.makedirs(parent, exist_ok=True)
    remove_stale_temporaries(parent, stem)
    remove_dead_staging_folders(parent)
    tmp = tempfile.mkdtemp(dir=parent, prefix=temporary_prefix(stem))
    os.chmod(tmp, permissions(directory=True))  # mkdtemp makes it private (0700)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_folder(new, path, keep=None):
    """Moves the folder `new` to `path`, all or nothing.

    An existing `path` is moved to `keep` (or removed when `keep` is None) once `new` is in
    its place; if a step fails, `path` (and `keep`) are as they were.
    """
    if not os.path.lexists(path):
        os.replace(new, path)
        return
    if keep is not None and os.path.lexists(keep):
        raise FileExistsError(keep)
    old = keep if keep is not None else new + ".old"
    os.replace(path, old)
    try:
        os.replace(new, path)
    except BaseException:
        os.replace(old, path)
        raise
    if keep is None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(path, if_exists="error"):
    """`with atomic_folder(final) as tmp:` fill `tmp`; it becomes `final` only on success.

    Args:
        path: the folder to create (with the permissions `mkdir` gives under the umask).
        if_exists: what to do if `path` exists when the block ends: `"error"`
            (FileExistsError), `"replace"` (the old folder is removed only after the new one is
            in place) or `"keep"` (another process built it meanwhile; discard ours).
    """
    path = os.path.abspath(os.fspath(path))
    with staging_folder(path) as tmp:
        yield tmp
        if not os.path.exists(path):
            os.replace(tmp, path)
        elif if_exists == "replace":
            replace_folder(tmp, path)
        elif if_exists != "keep":
            raise FileExistsError(path)


def require_writable(path, what="output", folder=False):
    """Raises InputError unless the file (or, with `folder`, the folder) `path` can be written.

    Checked before any work starts, so a long run never fails only at its end: the nearest
    existing folder on the way to `path` must take a new entry (probed with a temporary
    folder, removed at once); nothing is created.
    """
    from model_zoo.errors import InputError

    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path) != folder and os.path.exists(path):
        kind = "a file" if folder else "a folder"
        raise InputError(f"Cannot write the {what} to {path}: it is {kind}. Received: {path!r}")
    existing = os.path.dirname(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise InputError(f"Cannot write the {what} to {path}: {existing} is a file, not a "
                         f"folder. Received: {path!r}")
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".model_zoo-write-check-"))
    except OSError as e:
        raise InputError(f"Cannot write the {what} to {path}: the folder {existing} does not "
                         f"take new files ({e.strerror}). Received: {path!r}") from None
    return path
