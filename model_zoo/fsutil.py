"""Atomic folder writes, shared by the checkpoint format and the data cache."""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_folder(path, if_exists="error"):
    """`with atomic_folder(final) as tmp:` fill `tmp`; it becomes `final` only on success.

    Args:
        path: the folder to create.
        if_exists: what to do if `path` exists when the block ends: `"error"`
            (FileExistsError), `"replace"` (the old folder is removed only after the new one is
            in place) or `"keep"` (another process built it meanwhile; discard ours).
    """
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.tmp-")
    try:
        yield tmp
        if not os.path.exists(path):
            os.replace(tmp, path)
        elif if_exists == "keep":
            shutil.rmtree(tmp, ignore_errors=True)
        elif if_exists == "replace":
            old = tmp + ".old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            raise FileExistsError(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
