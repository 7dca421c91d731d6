"""The checkpoint registry: names, versions and aliases over folders of checkpoints.

A registry root is a folder whose sub-folders are checkpoints (each with a `metadata.json`) and
which may hold an `aliases.json` mapping old names to new ones. The built-in root is the
repository's `checkpoints/` (installed as the package `model_zoo_checkpoints`); more roots can be
named in `$MODEL_ZOO_REGISTRY` (separated by `os.pathsep`).

Names are `<task>_<architecture>_<dataset>`; `name@N` pins version N, a bare name takes the
newest version. The registry knows nothing of TensorFlow: it maps a specification to a local
folder whose files have been checked against their recorded sha256.
"""

import dataclasses
import difflib
import fnmatch
import importlib.util
import json
import os
import urllib.parse
import urllib.request
import warnings

from model_zoo.errors import InputError, UnknownModelError
from model_zoo.registry import cache
from model_zoo.registry.integrity import verify_files
from model_zoo.registry.metadata import METADATA_FILE, CheckpointMetadata, check_name

ALIASES_FILE = "aliases.json"


def checkout_root():
    """The repository folder when model_zoo is imported from a checkout, else None."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(os.path.join(here, "pyproject.toml")) and os.path.isdir(
            os.path.join(here, "checkpoints")):
        return here
    return None


def builtin_root():
    """The folder of the checkpoints published with model_zoo.

    In a checkout (installed editable or not) that is the checkout's own `checkpoints/`;
    from an installed wheel, the package `model_zoo_checkpoints`.
    """
    checkout = checkout_root()
    if checkout:
        return os.path.join(checkout, "checkpoints")
    spec = importlib.util.find_spec("model_zoo_checkpoints")
    if spec is not None and spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    raise FileNotFoundError("model_zoo's checkpoints were not installed with it.")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered checkpoint: its metadata and the folder that holds it."""

    metadata: CheckpointMetadata
    directory: str

    @property
    def name(self):
        return self.metadata.name

    @property
    def version(self):
        return self.metadata.version

    @property
    def is_remote(self):
        return self.metadata.source is not None and not self.metadata.files


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A checkpoint ready to load: a local folder whose files match their metadata."""

    directory: str
    metadata: CheckpointMetadata


def parse_spec(spec):
    """`"name@2"` -> `("name", 2)`; `"name"` -> `("name", None)`."""
    name, sep, version = spec.partition("@")
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InputError(
            f"A version is written `name@N` with N a positive integer. Received: {spec!r}"
        )
    return name, int(version)


class Registry:
    """Checkpoints found under one or more registry roots.

    Args:
        roots: folders to scan; later roots cannot shadow a name@version of an earlier one.

    Example:
    >>> registry = Registry([builtin_root()])
    >>> [e.name for e in registry.list(task="forecasting")]  # doctest: +SKIP
    ['forecast_lstm_airline', 'forecast_lstm_co2', ...]
    """

    def __init__(self, roots):
        self.roots = [os.path.abspath(r) for r in roots]
        self._entries = {}  # name -> {version: Entry}
        self.aliases = {}
        for root in self.roots:
            self._scan(root)

    def _scan(self, root):
        if not os.path.isdir(root):
            return
        alias_path = os.path.join(root, ALIASES_FILE)
        if os.path.isfile(alias_path):
            with open(alias_path, encoding="utf-8") as f:
                for old, new in json.load(f).items():
                    self.aliases.setdefault(old, new)
        for child in sorted(os.listdir(root)):
            if child.startswith("."):  # temporaries of an unfinished write (fsutil), never entries
                continue
            directory = os.path.join(root, child)
            if not os.path.isfile(os.path.join(directory, METADATA_FILE)):
                continue
            metadata = CheckpointMetadata.load(directory)
            versions = self._entries.setdefault(metadata.name, {})
            versions.setdefault(metadata.version, Entry(metadata, directory))

    # -- queries ----------------------------------------------------------------------------

    def names(self):
        return sorted(self._entries)

    def latest(self, name):
        versions = self._entries[name]
        return versions[max(versions)]

    def list(self, pattern=None, task=None):
        """Newest version of every checkpoint whose name matches the glob `pattern` and task."""
        out = []
        for name in self.names():
            if pattern and not fnmatch.fnmatch(name, pattern) and pattern not in name:
                continue
            entry = self.latest(name)
            if task and entry.metadata.task != task:
                continue
            out.append(entry)
        return out

    def get(self, spec):
        """The entry for `name` or `name@N`, following aliases of renamed checkpoints."""
        name, version = parse_spec(spec)
        if name not in self._entries and name in self.aliases:
            new = self.aliases[name]
            warnings.warn(
                f"Checkpoint `{name}` was renamed to `{new}`; loading `{new}`. "
                "Use the new name: the alias is kept for old code only.",
                DeprecationWarning,
                stacklevel=3,
            )
            name = new
        if name not in self._entries:
            check_name(name)
            # An alias is kept for old code and never offered: a name close to one suggests
            # the name it stands for.
            close = difflib.get_close_matches(name, self.names() + list(self.aliases), n=3)
            close = list(dict.fromkeys(self.aliases.get(c, c) for c in close))
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownModelError(
                f"No checkpoint named `{name}` is registered.{hint} `model_zoo.list_models()` "
                f"lists them all. Received: {spec!r}"
            )
        versions = self._entries[name]
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise UnknownModelError(
                f"Checkpoint `{name}` has no version {version}; published versions are "
                f"{sorted(versions)}. Received: {spec!r}"
            )
        return versions[version]

    def resolve(self, spec):
        """A `Resolved` local folder for a registered name, after checking every file's hash."""
        entry = self.get(spec)
        if entry.is_remote:
            directory = cache.fetch(entry.metadata.source["url"], entry.metadata.source["sha256"])
            metadata = CheckpointMetadata.load(directory)
            return Resolved(directory, metadata)
        verify_files(entry.directory, entry.metadata.files)
        return Resolved(entry.directory, entry.metadata)


def default_registry():
    """The built-in checkpoints, plus any roots listed in `$MODEL_ZOO_REGISTRY`."""
    extra = [p for p in os.environ.get("MODEL_ZOO_REGISTRY", "").split(os.pathsep) if p]
    return Registry([builtin_root(), *extra])


def resolve(spec, sha256=None, registry=None):
    """Resolves a registered name, a local checkpoint folder, or a URL to a local folder.

    Args:
        spec: `name`, `name@N`, a path to a checkpoint folder, or a `file://`, `http://` or
            `https://` URL of a checkpoint archive (with `#sha256=<hex>` or `sha256=`).
        sha256: expected sha256 of the archive when `spec` is a URL.
        registry: the registry to look names up in (default: `default_registry()`).
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise InputError(
            "Expected a checkpoint name, a folder path or a URL. "
            f"Received: {type(spec).__name__} {spec!r}"
        )
    spec = os.fspath(spec)
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    if scheme == "file":
        local = urllib.request.url2pathname(urllib.parse.urlparse(spec).path)
        if os.path.isdir(local):
            spec, scheme = local, ""
    if scheme in ("http", "https", "file"):
        directory = cache.fetch(spec, sha256)
        return Resolved(directory, CheckpointMetadata.load(directory))
    if scheme:
        raise InputError(
            f"Unsupported URL scheme `{scheme}://`; use http://, https:// or file://. "
            f"Received: {spec}"
        )
    if os.path.isdir(spec):
        metadata = CheckpointMetadata.load(spec)
        verify_files(spec, metadata.files)
        return Resolved(os.path.abspath(spec), metadata)
    if os.sep in spec or spec.startswith((".", "~")) or (os.altsep and os.altsep in spec):
        raise InputError(
            f"No checkpoint folder at {spec}: the path does not exist or is not a folder. "
            f"Received: {spec!r}"
        )
    return (registry or default_registry()).resolve(spec)
