"""The download cache: `$MODEL_ZOO_HOME` (default `~/.cache/model_zoo`).

A checkpoint published at a URL is a `.zip` or `.tar.gz` of its folder, named with the sha256 of
the archive. Fetching streams it into a temporary file beside its final place, hashes it on the
way, and renames it into place only when the size and hash match; the archive is then unpacked
into a temporary folder, its files are checked against its metadata, and that folder is renamed
into place. An error at any step leaves nothing behind. `MODEL_ZOO_OFFLINE=1` never touches the
network: a checkpoint that is not already cached is an `OfflineError`.
"""

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from model_zoo.errors import IntegrityError, InputError, OfflineError
from model_zoo.registry.integrity import sha256_file, verify_files
from model_zoo.registry.metadata import METADATA_FILE, CheckpointMetadata

_CHUNK = 1 << 16
_SHA256_HEX = frozenset("0123456789abcdef")


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
    fd, partial = tempfile.mkstemp(dir=directory, suffix=".part")
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
        os.replace(partial, destination)
        partial = None
    finally:
        if fd is not None:
            os.close(fd)
        if partial is not None and os.path.exists(partial):
            os.remove(partial)


def _extract(archive, into):
    try:
        if archive.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    target = os.path.realpath(os.path.join(into, member))
                    if not target.startswith(os.path.realpath(into) + os.sep):
                        raise IntegrityError(
                            f"Archive {archive} has a member outside its folder. Received: {member}"
                        )
                zf.extractall(into)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(into, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:
        raise IntegrityError(f"Archive {archive} is not readable: {e}. Received: a bad archive.") from None


def _checkpoint_root(folder):
    """The folder inside an unpacked archive that holds metadata.json (top level or one down)."""
    if os.path.isfile(os.path.join(folder, METADATA_FILE)):
        return folder
    subdirs = [d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))]
    if len(subdirs) == 1 and os.path.isfile(os.path.join(folder, subdirs[0], METADATA_FILE)):
        return os.path.join(folder, subdirs[0])
    raise IntegrityError(
        f"The archive holds no checkpoint: no {METADATA_FILE} at its top level or one folder "
        f"down. Received: {sorted(os.listdir(folder))}"
    )


def fetch(url, sha256=None):
    """Returns the local folder of the checkpoint archived at `url`, fetching it if needed.

    Args:
        url: `http://`, `https://` or `file://` URL of a `.zip`/`.tar.gz` checkpoint archive,
            optionally ending in `#sha256=<hex>`.
        sha256: the archive's expected sha256 (required, here or in the URL).
    """
    url, sha256 = split_url(url, sha256)
    suffix = _archive_suffix(url)
    home = cache_home()
    target = os.path.join(home, "checkpoints", sha256)
    if os.path.isfile(os.path.join(target, METADATA_FILE)):
        return target
    archive = os.path.join(home, "downloads", sha256 + suffix)
    if not (os.path.isfile(archive) and sha256_file(archive) == sha256):
        if is_offline():
            raise OfflineError(
                f"MODEL_ZOO_OFFLINE is set and {url} is not in the cache ({home}). Unset "
                f"MODEL_ZOO_OFFLINE or fetch it once online. Received: sha256 {sha256}"
            )
        _download(url, archive, sha256)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=".unpack-")
    try:
        _extract(archive, staging)
        root = _checkpoint_root(staging)
        verify_files(root, CheckpointMetadata.load(root).files)
        with contextlib.suppress(FileExistsError, OSError):
            os.replace(root, target)  # A concurrent fetch may have won; its copy is identical.
        if not os.path.isfile(os.path.join(target, METADATA_FILE)):
            raise IntegrityError(f"Could not place the checkpoint in {target}. Received: {root}")
    except BaseException:
        # A bad archive is removed too, so that the next try downloads it afresh.
        if not os.path.isfile(os.path.join(target, METADATA_FILE)) and os.path.exists(archive):
            os.remove(archive)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def pack(directory, out_path):
    """Writes the checkpoint folder `directory` as a zip archive; returns the archive's sha256.

    The archive is what a checkpoint published at a URL points to: `load(url, sha256=...)`.
    """
    CheckpointMetadata.load(directory)  # Refuse to pack something that is not a checkpoint.
    out_dir = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".zip.part")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for root, dirs, files in os.walk(directory):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    full = os.path.join(root, name)
                    zf.write(full, os.path.relpath(full, directory))
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return sha256_file(out_path)
