"""File hashing and the checkpoint integrity check (pure Python, no TensorFlow).

`verify_files` is the one check every load path runs (a registered name, a checkpoint folder, a
cache hit, a fresh download) before anything of the checkpoint is read:

- the metadata's `files` table is well formed: relative, `/`-separated paths that stay inside
  the folder (no `..`, no absolute path, no backslash), each with an integer size and a sha256;
- it lists the files every load reads (`model.keras`, `preprocessing.json`);
- the folder holds nothing else but `metadata.json`: an unlisted file is refused, so every asset
  a task may read has been hashed;
- every listed file is a regular file inside the folder (a link may not lead out of it) with
  its recorded size and sha256.
"""

import hashlib
import os
import posixpath
import reprlib

from model_zoo.errors import IntegrityError
from model_zoo.registry.metadata import METADATA_FILE, MODEL_FILE, PREPROCESSING_FILE, few

_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")
REQUIRED_FILES = (MODEL_FILE, PREPROCESSING_FILE)


def sha256_file(path):
    """Returns the hex sha256 of the file at `path`, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(directory):
    """Sorted `(relative POSIX path, full path)` of every file under `directory`.

    A link to a folder is listed like a file: it is never walked into.
    """
    found = []
    for root, dirs, files in os.walk(directory):
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = [d for d in dirs if d not in links]
        for name in files + links:
            full = os.path.join(root, name)
            found.append((os.path.relpath(full, directory).replace(os.sep, "/"), full))
    return sorted(found)


def describe_files(directory, exclude=(METADATA_FILE,)):
    """Returns `{relative_path: {"sha256": ..., "bytes": ...}}` for every file under `directory`.

    `metadata.json` is excluded: it holds this table and cannot hash itself.
    """
    table = {}
    for rel, full in _listing(directory):
        if rel in exclude or "__pycache__" in rel:
            continue
        table[rel] = {"sha256": sha256_file(full), "bytes": os.path.getsize(full)}
    return table


def is_inner_path(rel):
    """Whether `rel` is a relative `/`-separated path that cannot leave the folder it is in."""
    return (isinstance(rel, str) and bool(rel) and not posixpath.isabs(rel)
            and not any(c in rel for c in "\\:\0")
            and all(part not in ("", ".", "..") for part in rel.split("/")))


def _is_record(entry):
    return (isinstance(entry, dict) and {"bytes", "sha256"} <= set(entry)
            and type(entry["bytes"]) is int and entry["bytes"] >= 0
            and isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64
            and set(entry["sha256"]) <= _HEX)


def check_files_table(files, where, required=REQUIRED_FILES):
    """Checks the shape of a metadata `files` table (see the module's docstring); returns it.

    Args:
        files: the table, `{relative path: {"bytes": int, "sha256": hex}}`.
        where: the checkpoint folder or archive, for the error message.
        required: the paths the table must list.
    """
    if not isinstance(files, dict):
        raise IntegrityError(
            f"The metadata of {where} has no `files` table mapping each file's relative path "
            f"to its size and sha256. Received: {reprlib.repr(files)}"
        )
    for rel, entry in files.items():
        if not is_inner_path(rel) or rel == METADATA_FILE:
            raise IntegrityError(
                f"The `files` table of {where} names a path that does not stay inside the "
                "checkpoint folder; paths are relative, `/`-separated, without `..`, `:` or "
                f"backslashes. Received: {reprlib.repr(rel)}"
            )
        if not _is_record(entry):
            raise IntegrityError(
                f"The `files` entry of `{rel}` in {where} must be "
                f'{{"bytes": <size>, "sha256": <64 hex digits>}}. Received: {reprlib.repr(entry)}'
            )
    folders = {rel.rsplit("/", n)[0] for rel in files for n in range(1, rel.count("/") + 1)}
    clash = sorted(folders & set(files))
    if clash:
        raise IntegrityError(
            f"The `files` table of {where} lists a path both as a file and as a folder. "
            f"Received: {few(clash)}"
        )
    missing = [rel for rel in required if rel not in files]
    if missing:
        raise IntegrityError(
            f"The `files` table of {where} does not list {missing}: every file a load reads "
            f"must be recorded with its size and sha256. Received: {few(sorted(files))}"
        )
    return files


def verify_files(directory, files, required=REQUIRED_FILES):
    """Checks a checkpoint folder against its metadata's `files` table (see the docstring above).

    Raises:
        IntegrityError: naming the first problem: a malformed table, a required file it does not
            list, a file it does not list, or a listed file that is missing, leads out of the
            folder, is truncated or altered.
    """
    check_files_table(files, directory, required)
    unlisted = [rel for rel, _ in _listing(directory) if rel != METADATA_FILE and rel not in files]
    if unlisted:
        raise IntegrityError(
            f"{directory} holds files its metadata does not list; a checkpoint holds only its "
            f"recorded files (remove the others, or re-publish it). Received: {few(unlisted)}"
        )
    root = os.path.realpath(directory)
    for rel, expected in sorted(files.items()):
        path = os.path.join(directory, *rel.split("/"))
        if not os.path.realpath(path).startswith(root + os.sep):
            raise IntegrityError(
                f"Checkpoint file `{rel}` in {directory} is a link that leads out of the "
                "checkpoint folder. Received: a link."
            )
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
