"""File hashing and checkpoint integrity checks (pure Python, no TensorFlow)."""

import hashlib
import os

from model_zoo.errors import IntegrityError

_CHUNK = 1 << 20


def sha256_file(path):
    """Returns the hex sha256 of the file at `path`, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_files(directory, exclude=("metadata.json",)):
    """Returns `{relative_path: {"sha256": ..., "bytes": ...}}` for every file under `directory`.

    `metadata.json` is excluded: it holds this table and cannot hash itself.
    """
    table = {}
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, directory).replace(os.sep, "/")
            if rel in exclude or "__pycache__" in rel:
                continue
            table[rel] = {"sha256": sha256_file(full), "bytes": os.path.getsize(full)}
    return table


def verify_files(directory, files):
    """Checks that every file recorded in `files` exists under `directory` with its size and hash.

    Raises:
        IntegrityError: naming the first file that is missing, truncated or altered.
    """
    for rel, expected in sorted(files.items()):
        path = os.path.join(directory, rel)
        if not os.path.isfile(path):
            raise IntegrityError(
                f"Checkpoint file `{rel}` is missing from {directory}. The checkpoint is "
                f"incomplete; re-download or re-publish it. Received: no such file."
            )
        size = os.path.getsize(path)
        if size != expected["bytes"]:
            raise IntegrityError(
                f"Checkpoint file `{rel}` in {directory} has the wrong size (truncated or "
                f"altered): expected {expected['bytes']} bytes. Received: {size} bytes."
            )
        actual = sha256_file(path)
        if actual != expected["sha256"]:
            raise IntegrityError(
                f"Checkpoint file `{rel}` in {directory} does not match its recorded sha256 "
                f"{expected['sha256']}. Received: sha256 {actual}."
            )
