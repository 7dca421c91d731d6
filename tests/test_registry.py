"""Registry resolution, integrity checks, the download cache and offline mode."""

import functools
import http.server
import json
import os
import shutil
import threading
import warnings

import pytest

from model_zoo import registry as reg
from model_zoo.errors import IntegrityError, InputError, OfflineError, UnknownModelError


def _copy_as(src, root, name=None, version=None):
    """Copies a checkpoint into a registry root, optionally renamed/re-versioned (re-hashed)."""
    meta = reg.CheckpointMetadata.load(src)
    meta.name = name or meta.name
    meta.version = version or meta.version
    dst = os.path.join(root, meta.name if version is None else f"{meta.name}@{meta.version}")
    shutil.copytree(src, dst)
    meta.save(dst)
    return dst


@pytest.fixture
def root(tmp_path, tiny_forecaster_dir):
    root = tmp_path / "registry"
    root.mkdir()
    _copy_as(tiny_forecaster_dir, str(root))
    _copy_as(tiny_forecaster_dir, str(root), version=2)
    with open(root / "aliases.json", "w") as f:
        json.dump({"tiny_forecaster_old": "forecast_lstm_tiny"}, f)
    return str(root)


def test_names_versions_and_aliases(root):
    registry = reg.Registry([root])
    assert registry.names() == ["forecast_lstm_tiny"]
    assert registry.get("forecast_lstm_tiny").version == 2
    assert registry.get("forecast_lstm_tiny@1").version == 1
    with pytest.warns(DeprecationWarning, match="renamed to `forecast_lstm_tiny`"):
        assert registry.get("tiny_forecaster_old").name == "forecast_lstm_tiny"
    assert [e.name for e in registry.list(task="forecasting")] == ["forecast_lstm_tiny"]
    assert registry.list(task="translation") == []
    assert [e.name for e in registry.list("forecast_*")] == ["forecast_lstm_tiny"]


def test_unknown_name_suggests_close_matches(root):
    registry = reg.Registry([root])
    with pytest.raises(UnknownModelError, match="Did you mean 'forecast_lstm_tiny'") as e:
        registry.get("forecast_lstm_tinny")
    assert "Received: 'forecast_lstm_tinny'" in str(e.value)
    with pytest.raises(UnknownModelError, match=r"no version 7; published versions are \[1, 2\]"):
        registry.get("forecast_lstm_tiny@7")
    with pytest.raises(InputError, match="positive integer"):
        registry.get("forecast_lstm_tiny@x")
    with pytest.raises(InputError, match="lowercase"):
        registry.get("Bad Name")


def test_resolve_checks_hashes(root):
    registry = reg.Registry([root])
    resolved = registry.resolve("forecast_lstm_tiny")
    assert resolved.metadata.version == 2
    card = os.path.join(resolved.directory, "README.md")
    with open(card, "a") as f:
        f.write("tampered\n")
    with pytest.raises(IntegrityError, match="README.md.*wrong size"):
        registry.resolve("forecast_lstm_tiny")
    os.remove(card)
    with pytest.raises(IntegrityError, match="README.md` is missing"):
        registry.resolve("forecast_lstm_tiny")


def test_same_size_alteration_is_caught(tiny_forecaster_dir, tmp_path):
    copy = shutil.copytree(tiny_forecaster_dir, tmp_path / "c")
    path = copy / "preprocessing.json"
    data = bytearray(path.read_bytes())
    data[-2] = ord("X") if data[-2] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match its recorded sha256"):
        reg.resolve(str(copy))


def test_resolve_local_paths(tiny_forecaster_dir, tmp_path):
    assert reg.resolve(tiny_forecaster_dir).metadata.name == "forecast_lstm_tiny"
    assert reg.resolve("file://" + tiny_forecaster_dir).metadata.name == "forecast_lstm_tiny"
    with pytest.raises(InputError, match="No checkpoint folder"):
        reg.resolve(str(tmp_path / "nope"))
    with pytest.raises(InputError, match="no metadata.json"):
        reg.resolve(str(tmp_path))
    with pytest.raises(InputError, match="Unsupported URL scheme"):
        reg.resolve("ftp://example.invalid/x.zip")


def test_builtin_registry_is_found():
    root = reg.builtin_root()
    assert os.path.isdir(root)
    assert os.path.basename(root.rstrip(os.sep)) == "checkpoints"


# -- URLs, the cache, offline mode ---------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate = False

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        if self.truncate:  # Announce the full length, send half, then hang up.
            data = source.read()
            outputfile.write(data[: len(data) // 2])
            return
        super().copyfile(source, outputfile)


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_Handler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    _Handler.truncate = False
    httpd.shutdown()
    httpd.server_close()


def _cache_files():
    home = reg.cache_home()
    out = []
    for dirpath, _, files in os.walk(home):
        out += [os.path.relpath(os.path.join(dirpath, f), home) for f in files]
    return sorted(out)


def test_http_fetch_verifies_and_caches(server, tiny_forecaster_dir, monkeypatch):
    served, base = server
    sha = reg.pack(tiny_forecaster_dir, str(served / "tiny.zip"))
    resolved = reg.resolve(f"{base}/tiny.zip#sha256={sha}")
    assert resolved.metadata.name == "forecast_lstm_tiny"
    assert resolved.directory.startswith(reg.cache_home())
    assert not [f for f in _cache_files() if f.endswith(".part")]
    # Served no more: the cache answers, also offline.
    os.remove(served / "tiny.zip")
    monkeypatch.setenv("MODEL_ZOO_OFFLINE", "1")
    assert reg.resolve(f"{base}/tiny.zip", sha256=sha).directory == resolved.directory


def test_http_hash_mismatch_leaves_nothing(server, tiny_forecaster_dir):
    served, base = server
    reg.pack(tiny_forecaster_dir, str(served / "tiny.zip"))
    with pytest.raises(IntegrityError, match="does not match the expected sha256"):
        reg.resolve(f"{base}/tiny.zip", sha256="0" * 64)
    assert _cache_files() == []


def test_http_truncated_download_leaves_nothing(server, tiny_forecaster_dir):
    served, base = server
    sha = reg.pack(tiny_forecaster_dir, str(served / "tiny.zip"))
    _Handler.truncate = True
    with pytest.raises(IntegrityError, match="truncated|broke off"):
        reg.resolve(f"{base}/tiny.zip", sha256=sha)
    assert _cache_files() == []


def test_http_missing_file_and_bad_sha(server):
    _, base = server
    with pytest.raises(IntegrityError, match="Could not download"):
        reg.resolve(f"{base}/absent.zip", sha256="a" * 64)
    with pytest.raises(InputError, match="needs the archive's expected sha256"):
        reg.resolve(f"{base}/absent.zip")
    with pytest.raises(InputError, match=r"\.zip, \.tar\.gz"):
        reg.resolve(f"{base}/absent.bin", sha256="a" * 64)
    assert _cache_files() == []


def test_offline_never_touches_the_network(server, tiny_forecaster_dir, monkeypatch):
    served, base = server
    sha = reg.pack(tiny_forecaster_dir, str(served / "tiny.zip"))
    monkeypatch.setenv("MODEL_ZOO_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("network used while offline")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(OfflineError, match="MODEL_ZOO_OFFLINE is set"):
        reg.resolve(f"{base}/tiny.zip", sha256=sha)
    assert _cache_files() == []


def test_archive_with_bad_contents_is_not_cached(server, tmp_path):
    served, base = server
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / "notes.txt").write_text("no checkpoint here")
    shutil.make_archive(str(served / "bogus"), "zip", bogus)
    sha = reg.sha256_file(str(served / "bogus.zip"))
    with pytest.raises(IntegrityError, match="holds no checkpoint"):
        reg.resolve(f"{base}/bogus.zip", sha256=sha)
    assert _cache_files() == []


def test_remote_registry_entry(server, tiny_forecaster_dir, tmp_path):
    served, base = server
    sha = reg.pack(tiny_forecaster_dir, str(served / "tiny.zip"))
    root = tmp_path / "remote_registry"
    (root / "forecast_lstm_remote").mkdir(parents=True)
    meta = reg.CheckpointMetadata.load(tiny_forecaster_dir)
    meta.name, meta.files = "forecast_lstm_remote", {}
    meta.source = {"url": f"{base}/tiny.zip", "sha256": sha}
    meta.save(str(root / "forecast_lstm_remote"))
    resolved = reg.Registry([str(root)]).resolve("forecast_lstm_remote")
    assert resolved.directory.startswith(reg.cache_home())


def test_metadata_rejects_bad_fields(tiny_forecaster_dir):
    data = reg.CheckpointMetadata.load(tiny_forecaster_dir).to_dict()
    with pytest.raises(InputError, match="unknown fields"):
        reg.CheckpointMetadata.from_dict({**data, "surprise": 1})
    with pytest.raises(InputError, match="lacks the required fields"):
        reg.CheckpointMetadata.from_dict({k: v for k, v in data.items() if k != "task"})
    with pytest.raises(InputError, match="positive integer"):
        reg.CheckpointMetadata.from_dict({**data, "version": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reg.CheckpointMetadata.from_dict(data).full_name == "forecast_lstm_tiny@1"
