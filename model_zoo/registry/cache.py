"""The download cache: `$MODEL_ZOO_HOME` (default `~/.cache/model_zoo`).

A checkpoint published at a URL is a `.zip` or `.tar.gz` of its folder, named with the sha256 of
the archive. Fetching streams it into a temporary file beside its final place, hashes it on the
way, and renames it into place only when the size and hash match; the archive is then unpacked
into a temporary folder (after its member list has been checked against the metadata.json it
carries, see `_unpack`), its files are hashed against that metadata, and the folder is renamed
into place. An error at any step leaves nothing behind. A cache hit is re-hashed on every load
and removed if it fails. `MODEL_ZOO_OFFLINE=1` never touches the network: a checkpoint that is
not already cached is an `OfflineError`.
"""

import collections
import contextlib
import functools
import gzip
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

from model_zoo.errors import IntegrityError, InputError, OfflineError
from model_zoo.fsutil import (
    permissions,
    remove_stale_temporaries,
    staging_folder,
    temporary_prefix,
)
from model_zoo.registry.integrity import check_files_table, sha256_file, verify_files
from model_zoo.registry.metadata import METADATA_FILE, CheckpointMetadata, few

_CHUNK = 1 << 16
_SHA256_HEX = frozenset("0123456789abcdef")
# Unpacking limits (see `_unpack`): the total is overridable with $MODEL_ZOO_MAX_UNPACKED_BYTES.
MAX_UNPACKED_BYTES = 2 << 30
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_ABOVE = 1 << 20  # smaller members are not ratio-checked (a short text compresses well)
MAX_METADATA_BYTES = 16 << 20


def cache_home():
    """The cache root: `$MODEL_ZOO_HOME`, else `~/.cache/model_zoo`."""
    home = os.environ.get("MODEL_ZOO_HOME") or os.path.join("~", ".cache", "model_zoo")
    return os.path.abspath(os.path.expanduser(home))


def is_offline():
    return os.environ.get("MODEL_ZOO_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def check_sha256(value, url):
    value = (value or "").strip().lower()
    if len(value) != 64 or not set(value) <= _SHA256_HEX:
        raise InputError(
            "Loading a checkpoint from a URL needs the archive's expected sha256 (64 hex digits), "
            f"as `load(url, sha256=...)` or `{url}#sha256=<hex>`. Received: sha256={value!r}"
        )
    return value


def split_url(url, sha256=None):
    """Splits `url#sha256=<hex>` into `(url, sha256)`; an explicit `sha256` wins."""
    base, _, fragment = url.partition("#")
    if fragment.startswith("sha256=") and not sha256:
        sha256 = fragment[len("sha256="):]
    return base, check_sha256(sha256, base)


def _archive_suffix(url):
    path = urllib.parse.urlparse(url).path.lower()
    for suffix in (".zip", ".tar.gz", ".tgz", ".tar"):
        if path.endswith(suffix):
            return suffix
    raise InputError(
        "A checkpoint URL must point to a .zip, .tar.gz, .tgz or .tar archive of a checkpoint "
        f"folder. Received: {url}"
    )


def _progress(total, desc):
    from tqdm.auto import tqdm  # A maintained progress bar rather than a hand-written one.

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=None, leave=False)


def _download(url, destination, sha256):
    """Streams `url` into a temp file next to `destination`; renames it there if it checks out."""
    directory = os.path.dirname(destination)
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(directory, "tmp", suffix=".part")  # left by killed downloads
    fd, partial = tempfile.mkstemp(dir=directory, prefix=temporary_prefix("tmp"), suffix=".part")
    try:
        try:
            response = urllib.request.urlopen(url, timeout=60)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise IntegrityError(f"Could not download {url}: {e}. Received: no data.") from None
        digest = hashlib.sha256()
        written = 0
        with response, os.fdopen(fd, "wb") as out:
            fd = None
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with _progress(total, os.path.basename(destination)) as bar:
                while True:
                    try:
                        chunk = response.read(_CHUNK)
                    except Exception as e:  # http.client.IncompleteRead, ConnectionResetError, ...
                        raise IntegrityError(
                            f"Download of {url} broke off after {written} bytes: {e}. "
                            "Received: a truncated file."
                        ) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
        if total is not None and written != total:
            raise IntegrityError(
                f"Download of {url} is truncated: the server announced {total} bytes. "
                f"Received: {written} bytes."
            )
        actual = digest.hexdigest()
        if actual != sha256:
            raise IntegrityError(
                f"Archive downloaded from {url} does not match the expected sha256 {sha256}; "
                f"nothing was cached. Received: sha256 {actual} ({written} bytes)."
            )
        os.chmod(partial, permissions())  # mkstemp makes it private (0600)
        os.replace(partial, destination)
        partial = None
    finally:
        if fd is not None:
            os.close(fd)
        if partial is not None and os.path.exists(partial):
            os.remove(partial)


_Member = collections.namedtuple("_Member", "name kind size packed open")
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError,
                   zlib.error, gzip.BadGzipFile, NotImplementedError)


def max_unpacked_bytes():
    """The most bytes an archive may unpack to: `$MODEL_ZOO_MAX_UNPACKED_BYTES`, else 2 GiB."""
    value = os.environ.get("MODEL_ZOO_MAX_UNPACKED_BYTES", "").strip()
    if not value:
        return MAX_UNPACKED_BYTES
    if not value.isdigit() or int(value) < 1:
        raise InputError(
            "MODEL_ZOO_MAX_UNPACKED_BYTES must be a positive whole number of bytes. "
            f"Received: {value!r}"
        )
    return int(value)


def _member_name(name):
    while name.startswith("./"):  # tar archives made with `tar -C folder .`
        name = name[2:]
    return name.rstrip("/")


@contextlib.contextmanager
def _members(archive):
    """The `_Member`s of a zip or tar archive, readable while the context is open."""
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            yield [_Member(_member_name(i.filename), "dir" if i.is_dir() else "file",
                           i.file_size, i.compress_size, functools.partial(zf.open, i))
                   for i in zf.infolist()]
    else:
        with tarfile.open(archive) as tf:
            yield [_Member(_member_name(m.name),
                           "dir" if m.isdir() else "file" if m.isfile() else "other",
                           m.size, None, functools.partial(tf.extractfile, m))
                   for m in tf.getmembers()]


def _checkpoint_prefix(archive, names):
    """Where metadata.json lies in the archive: `""` (top level) or `"folder/"` (one down)."""
    if METADATA_FILE in names:
        return ""
    down = [n for n in names if n.count("/") == 1 and n.endswith("/" + METADATA_FILE)]
    if len(down) == 1:
        return down[0][: -len(METADATA_FILE)]
    raise IntegrityError(
        f"The archive {archive} holds no checkpoint: no {METADATA_FILE} at its top level or one "
        f"folder down. Received: {few(sorted({n.split('/')[0] for n in names if n}))}"
    )


def _archived_metadata(archive, member):
    if member.size > MAX_METADATA_BYTES:
        raise IntegrityError(
            f"The {METADATA_FILE} in {archive} is larger than {MAX_METADATA_BYTES} bytes. "
            f"Received: {member.size} bytes."
        )
    with member.open() as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        raise IntegrityError(
            f"The {METADATA_FILE} in {archive} is not valid UTF-8 JSON ({e}). Received: a "
            "corrupt metadata file."
        ) from None
    if not isinstance(data, dict):
        raise IntegrityError(
            f"The {METADATA_FILE} in {archive} must hold a JSON object. "
            f"Received: {type(data).__name__}"
        )
    try:
        return CheckpointMetadata.from_dict(data)
    except (InputError, TypeError) as e:
        raise IntegrityError(f"The {METADATA_FILE} in {archive} is not valid: {e}") from None


def _check_sizes(archive, members):
    """Refuses an archive that unpacks to too much or is compressed suspiciously well."""
    total = sum(m.size for m in members)
    limit = max_unpacked_bytes()
    if total > limit:
        raise IntegrityError(
            f"The archive {archive} unpacks to more than the limit of {limit} bytes (set "
            f"MODEL_ZOO_MAX_UNPACKED_BYTES to allow more). Received: {total} bytes."
        )
    # A zip records each member's compressed size; a tar.gz only the whole archive's.
    pairs = [(m.name, m.size, m.packed) for m in members if m.packed is not None]
    for name, size, packed in pairs or [("the archive", total, os.path.getsize(archive))]:
        if size > RATIO_CHECK_ABOVE and size > MAX_COMPRESSION_RATIO * max(packed, 1):
            raise IntegrityError(
                f"`{name}` in {archive} is compressed more than {MAX_COMPRESSION_RATIO}:1, as "
                f"no checkpoint file is (a decompression bomb?). Received: {size} bytes packed "
                f"in {packed}."
            )


def _unpack(archive, into):
    """Unpacks the checkpoint archived in `archive` into the empty folder `into`.

    Nothing is written before the whole member list has been checked against the metadata.json
    the archive carries: only plain files, each one listed in its `files` table (at the top
    level or one folder down) with the size the table records, none missing, within
    `max_unpacked_bytes()` in all and no member compressed more than `MAX_COMPRESSION_RATIO`:1.
    The files written are then hashed (`verify_files`).
    """
    try:
        with _members(archive) as members:
            files = {m.name: m for m in members if m.kind == "file"}
            special = [m.name for m in members if m.kind == "other"]
            if special:
                raise IntegrityError(
                    f"The archive {archive} holds links or special files; a checkpoint archive "
                    f"holds only plain files. Received: {few(special)}"
                )
            prefix = _checkpoint_prefix(archive, files)
            metadata = _archived_metadata(archive, files[prefix + METADATA_FILE])
            table = check_files_table(metadata.files, archive)
            plan = {METADATA_FILE: files[prefix + METADATA_FILE]}
            unlisted = []
            for name, member in sorted(files.items()):
                rel = name[len(prefix):] if name.startswith(prefix) else None
                if rel not in table:
                    if rel != METADATA_FILE:
                        unlisted.append(name)
                    continue
                if member.size != table[rel]["bytes"]:
                    raise IntegrityError(
                        f"`{name}` in {archive} does not have the size its metadata records: "
                        f"expected {table[rel]['bytes']} bytes. Received: {member.size} bytes."
                    )
                plan[rel] = member
            if unlisted:
                raise IntegrityError(
                    f"The archive {archive} holds files its metadata does not list; a checkpoint "
                    f"archive holds only its recorded files. Received: {few(unlisted)}"
                )
            missing = sorted(set(table) - set(plan))
            if missing:
                raise IntegrityError(
                    f"The archive {archive} lacks files its metadata lists: {few(missing)}. "
                    "Received: an incomplete archive."
                )
            _check_sizes(archive, list(plan.values()))
            for rel, member in plan.items():
                path = os.path.join(into, *rel.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                # zipfile and tarfile stop at the member's recorded size, checked above.
                with member.open() as src, open(path, "xb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except _ARCHIVE_ERRORS as e:
        raise IntegrityError(
            f"The archive {archive} is not readable: {e}. Received: a bad archive."
        ) from None
    verify_files(into, table)


def _archived_metadata_bytes(archive):
    """The bytes of the metadata.json inside `archive` (at the top level or one folder down)."""
    try:
        with _members(archive) as members:
            files = {m.name: m for m in members if m.kind == "file"}
            member = files[_checkpoint_prefix(archive, files) + METADATA_FILE]
            if member.size > MAX_METADATA_BYTES:
                raise IntegrityError(f"The {METADATA_FILE} in {archive} is too large. "
                                     f"Received: {member.size} bytes.")
            with member.open() as f:
                return f.read()
    except _ARCHIVE_ERRORS as e:
        raise IntegrityError(f"The archive {archive} is not readable: {e}. "
                             "Received: a bad archive.") from None


def _verify_cached(target, url, archive, sha256):
    """Re-checks a cache hit; a damaged or altered one is removed, so the next load refetches.

    The files are hashed against the cached metadata.json, and that metadata.json is compared
    with the one inside the downloaded archive (kept in `downloads/`, whose own sha256 is the
    one the user gave), so an edited table of hashes is caught too. Without the archive (the
    user deleted `downloads/`) the cached metadata.json cannot be checked and the cache hit is
    unpacked afresh from a new download instead of trusted.
    """
    try:
        if not (os.path.isfile(archive) and sha256_file(archive) == sha256):
            raise IntegrityError(
                f"The archive it was unpacked from is missing or altered. Received: {archive}")
        with open(os.path.join(target, METADATA_FILE), "rb") as f:
            if f.read() != _archived_metadata_bytes(archive):
                raise IntegrityError(
                    f"Its {METADATA_FILE} differs from the one in the archive {archive}. "
                    "Received: an edited metadata file.")
        verify_files(target, CheckpointMetadata.load(target).files)
    except (IntegrityError, InputError, OSError) as e:
        shutil.rmtree(target, ignore_errors=True)
        raise IntegrityError(
            f"The cached copy of {url} failed its check and was removed; loading it again "
            f"unpacks or downloads it afresh. {e}"
        ) from None


def fetch(url, sha256=None):
    """Returns the local folder of the checkpoint archived at `url`, fetching it if needed.

    Every call checks the folder's files against its metadata (`verify_files`), a cache hit
    included.

    Args:
        url: `http://`, `https://` or `file://` URL of a `.zip`/`.tar.gz` checkpoint archive,
            optionally ending in `#sha256=<hex>`.
        sha256: the archive's expected sha256 (required, here or in the URL).
    """
    url, sha256 = split_url(url, sha256)
    suffix = _archive_suffix(url)
    home = cache_home()
    target = os.path.join(home, "checkpoints", sha256)
    archive = os.path.join(home, "downloads", sha256 + suffix)
    if os.path.isfile(os.path.join(target, METADATA_FILE)):
        _verify_cached(target, url, archive, sha256)
        return target
    if not (os.path.isfile(archive) and sha256_file(archive) == sha256):
        if is_offline():
            raise OfflineError(
                f"MODEL_ZOO_OFFLINE is set and {url} is not in the cache ({home}). Unset "
                f"MODEL_ZOO_OFFLINE or fetch it once online. Received: sha256 {sha256}"
            )
        _download(url, archive, sha256)
    try:
        if os.path.isdir(target):  # Debris without metadata.json: never a finished unpack.
            shutil.rmtree(target)
        with staging_folder(target) as staging:
            _unpack(archive, staging)
            with contextlib.suppress(OSError):
                os.replace(staging, target)  # A concurrent fetch may have won; its copy is equal.
        if not os.path.isfile(os.path.join(target, METADATA_FILE)):
            raise IntegrityError(
                f"Could not place the checkpoint in {target}. Received: {archive}"
            )
    except BaseException:
        # A bad archive is removed too, so that the next try downloads it afresh.
        if not os.path.isfile(os.path.join(target, METADATA_FILE)) and os.path.exists(archive):
            os.remove(archive)
        raise
    return target


def pack(directory, out_path):
    """Writes the checkpoint folder `directory` as a zip archive; returns the archive's sha256.

    The folder is checked first (`verify_files`); the archive holds `metadata.json` and the
    files it lists, and gets the permissions the umask gives a new file. It is what a checkpoint
    published at a URL points to: `load(url, sha256=...)`.
    """
    metadata = CheckpointMetadata.load(directory)
    verify_files(directory, metadata.files)  # Refuse to pack something that is not a checkpoint.
    out_dir = os.path.dirname(os.path.abspath(out_path))
    remove_stale_temporaries(out_dir, "pack", suffix=".zip.part")  # left by a killed pack
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=temporary_prefix("pack"), suffix=".zip.part")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for rel in [METADATA_FILE, *sorted(metadata.files)]:
                zf.write(os.path.join(directory, *rel.split("/")), rel)
        os.chmod(tmp, permissions())  # mkstemp makes it private (0600)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return sha256_file(out_path)
