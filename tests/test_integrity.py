"""Integrity (issue 17, items 1-4, 6 and parts of 9 and 12): every load path verifies every file,
assets stay inside `assets/`, the `files` table is checked, archives are bounded, and a model
that Keras refuses or whose size is not the recorded one is a clear error.

Archives are placed in the download cache by hand and fetched offline, so no server is needed.
"""

import json
import os
import shutil
import tarfile
import zipfile

import pytest

import model_zoo
from model_zoo import registry as reg
from model_zoo.checkpoint import read_asset
from model_zoo.errors import IntegrityError, InputError

SECRET = "TOP-SECRET-LINE"


@pytest.fixture
def tiny(tiny_forecaster_dir, tmp_path):
    """A private copy of the tiny forecaster checkpoint, free to tamper with."""
    return str(shutil.copytree(tiny_forecaster_dir, tmp_path / "forecast_lstm_tiny"))


@pytest.fixture
def secret(tmp_path):
    """A file outside every checkpoint that must never be read (or described) by a load."""
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    return str(path)


def _edit_json(path, edit):
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, "w") as f:
        json.dump(data, f)


def _edit_files_table(folder, edit):
    _edit_json(os.path.join(folder, "metadata.json"), lambda m: edit(m["files"]))


def _rehash(folder):
    """Re-records the files table, as a careful attacker (or a careless edit) would."""
    meta = reg.CheckpointMetadata.load(folder)
    meta.files = reg.describe_files(folder)
    meta.save(folder)


def _shift_scaler(folder):
    _edit_json(os.path.join(folder, "preprocessing.json"),
               lambda p: p["scaler"].update(mean=p["scaler"]["mean"] + 1000))


def _flip_model_byte(folder):
    path = os.path.join(folder, "model.keras")
    with open(path, "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0xFF]))


def _cache_files():
    home = reg.cache_home()
    return sorted(os.path.relpath(os.path.join(d, f), home)
                  for d, _, files in os.walk(home) for f in files)


def _offline_url(archive, monkeypatch, suffix=".zip"):
    """Puts `archive` where a finished download would be; returns the URL that finds it there."""
    sha = reg.sha256_file(archive)
    downloads = os.path.join(reg.cache_home(), "downloads")
    os.makedirs(downloads, exist_ok=True)
    shutil.copy(archive, os.path.join(downloads, sha + suffix))
    monkeypatch.setenv("MODEL_ZOO_OFFLINE", "1")
    return f"https://example.invalid/ckpt{suffix}#sha256={sha}"


def _zip(folder, out, extra=()):
    """Zips `folder` as `pack` would, plus `(name, bytes)` members in `extra`."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in ["metadata.json", *reg.describe_files(folder)]:
            zf.write(os.path.join(folder, rel), rel)
        for name, data in extra:
            zf.writestr(name, data)
    return str(out)


# -- 1. every load path re-verifies, a cache hit included ----------------------------------


@pytest.mark.parametrize("damage,match", [(_shift_scaler, "`preprocessing.json` in .*altered"),
                                          (_flip_model_byte, "`model.keras` in .*sha256")],
                         ids=["preprocessing", "model"])
@pytest.mark.parametrize("path", ["folder", "name", "url", "remote_name"])
def test_every_load_path_verifies_every_file(path, damage, match, tiny, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    url = f"file://{served}/tiny.zip#sha256={reg.pack(tiny, str(served / 'tiny.zip'))}"
    root = tmp_path / "registry"
    if path == "name":
        shutil.copytree(tiny, root / "forecast_lstm_tiny")
    if path == "remote_name":
        meta = reg.CheckpointMetadata.load(tiny)
        meta.files, meta.source = {}, {"url": url.split("#")[0], "sha256": url.split("=")[1]}
        (root / "forecast_lstm_tiny").mkdir(parents=True)
        meta.save(str(root / "forecast_lstm_tiny"))
    monkeypatch.setenv("MODEL_ZOO_REGISTRY", str(root))
    spec = {"folder": tiny, "url": url}.get(path, "forecast_lstm_tiny")

    folder = reg.resolve(spec).directory  # checks out; a URL is now in the cache
    damage(folder)
    with pytest.raises(IntegrityError, match=match):
        model_zoo.load(spec)
    if path in ("url", "remote_name"):
        # The damaged cache entry is gone; the next load unpacks the kept archive afresh.
        assert not os.path.exists(folder)
        reg.resolve(spec)
        assert os.path.isdir(folder)


@pytest.mark.parametrize("case", ["rehashed_table", "archive_deleted"])
def test_a_cache_hit_is_checked_against_its_archive(case, tiny, tmp_path, monkeypatch):
    """Editing a cached file *and* re-recording the cached table of hashes is caught too: the
    cached metadata.json must equal the one in the kept archive, whose sha256 the user gave."""
    served = tmp_path / "served"
    served.mkdir()
    url = f"file://{served}/tiny.zip#sha256={reg.pack(tiny, str(served / 'tiny.zip'))}"
    folder = reg.resolve(url).directory
    if case == "rehashed_table":
        _shift_scaler(folder)
        _rehash(folder)
        match = "differs from the one in the archive"
    else:
        for name in os.listdir(os.path.join(reg.cache_home(), "downloads")):
            os.remove(os.path.join(reg.cache_home(), "downloads", name))
        match = "archive it was unpacked from is missing"
    with pytest.raises(IntegrityError, match=match):
        model_zoo.load(url)
    assert not os.path.exists(folder)
    reg.resolve(url)  # fetched and unpacked afresh, unaltered
    assert json.load(open(os.path.join(folder, "preprocessing.json"))) == json.load(
        open(os.path.join(tiny, "preprocessing.json")))


# -- 2. asset paths stay inside assets/ -------------------------------------------------------


def _escape_cases():
    from model_zoo.tasks.language_model import LanguageModel
    from model_zoo.tasks.speech_recognition import SpeechRecognizer
    from model_zoo.tasks.text_classification import TextClassifier

    def tokenizer(vocabulary):
        return {"tokenizer": {"type": "wordpiece", "vocabulary": vocabulary}}

    return {
        "classifier_vocabulary": lambda rel, d: TextClassifier(None, tokenizer(rel), None, d)
        .tokenizer,
        "lm_vocabulary": lambda rel, d: LanguageModel(None, tokenizer(rel), None, d).tokenizer,
        "speech_lm": lambda rel, d: SpeechRecognizer(
            None, {"language_model": {"asset": rel}}, None, d).language_model,
        "read_asset": lambda rel, d: read_asset(d, rel),
    }


@pytest.mark.parametrize("reader", ["classifier_vocabulary", "lm_vocabulary", "speech_lm",
                                    "read_asset"])
@pytest.mark.parametrize("kind", ["dotdot", "absolute", "link"])
def test_asset_paths_cannot_leave_assets(reader, kind, tiny, secret):
    os.makedirs(os.path.join(tiny, "assets"))
    rel = {"dotdot": "../../secret.txt", "absolute": secret, "link": "vocab.txt"}[kind]
    if kind == "link":
        os.symlink(secret, os.path.join(tiny, "assets", "vocab.txt"))
    with pytest.raises(IntegrityError, match="outside its assets/ folder") as e:
        _escape_cases()[reader](rel, tiny)
    assert SECRET not in str(e.value)


def test_missing_asset_is_a_clear_error(tiny):
    with pytest.raises(IntegrityError, match="the asset is missing"):
        read_asset(tiny, "vocab.txt")


# -- 3. the files table is checked, not trusted ------------------------------------------------


TABLE_CASES = {
    "absolute_key": "does not stay inside the checkpoint folder",
    "dotdot_key": "does not stay inside the checkpoint folder",
    "backslash_key": "does not stay inside the checkpoint folder",
    "bad_record": "must be .*bytes.*sha256",
    "file_and_folder": r"both as a file and as a folder. Received: \['README.md'\]",
    "dropped_entry": r"does not list \['preprocessing.json'\]",
    "empty_table": r"does not list \['model.keras', 'preprocessing.json'\]",
    "unlisted_file": r"does not list.*Received: \['assets/extra.txt'\]",
    "link_out": "link that leads out of the checkpoint folder",
}


@pytest.mark.parametrize("case", list(TABLE_CASES))
def test_files_table_is_checked(case, tiny, secret):
    record = {"bytes": os.path.getsize(secret), "sha256": reg.sha256_file(secret)}
    if case == "absolute_key":
        _edit_files_table(tiny, lambda t: t.update({secret: record}))
    elif case == "dotdot_key":
        _edit_files_table(tiny, lambda t: t.update({"../secret.txt": record}))
    elif case == "backslash_key":
        _edit_files_table(tiny, lambda t: t.update({"..\\secret.txt": record}))
    elif case == "bad_record":
        _edit_files_table(tiny, lambda t: t.update({"README.md": {"bytes": "12"}}))
    elif case == "dropped_entry":  # an edited preprocessing.json, and no entry to catch it
        _shift_scaler(tiny)
        _edit_files_table(tiny, lambda t: t.pop("preprocessing.json"))
    elif case == "empty_table":
        _edit_files_table(tiny, dict.clear)
    elif case == "unlisted_file":
        os.makedirs(os.path.join(tiny, "assets"))
        with open(os.path.join(tiny, "assets", "extra.txt"), "w") as f:
            f.write("not recorded")
    elif case == "file_and_folder":
        _edit_files_table(tiny, lambda t: t.update({"README.md/x": record}))
    else:  # README.md becomes a link to the secret, recorded with the secret's size and hash
        os.remove(os.path.join(tiny, "README.md"))
        os.symlink(secret, os.path.join(tiny, "README.md"))
        _edit_files_table(tiny, lambda t: t.update({"README.md": record}))
    with pytest.raises(IntegrityError, match=TABLE_CASES[case]) as e:
        model_zoo.load(tiny)
    # Nothing outside the folder is described: neither its content nor its size.
    assert SECRET not in str(e.value) and f"{record['bytes']} bytes" not in str(e.value)


def test_unlisted_archive_member_is_refused_and_not_cached(tiny, tmp_path, monkeypatch):
    archive = _zip(tiny, tmp_path / "extra.zip", extra=[("evil.py", b"import os\n")])
    with pytest.raises(IntegrityError, match=r"does not list.*Received: \['evil.py'\]"):
        reg.resolve(_offline_url(archive, monkeypatch))
    assert _cache_files() == []


# -- 4. unpacking is bounded -------------------------------------------------------------------


def _with_zero_asset(tiny, size):
    os.makedirs(os.path.join(tiny, "assets"))
    with open(os.path.join(tiny, "assets", "zeros.bin"), "wb") as f:
        f.write(bytes(size))
    _rehash(tiny)


def _tar(folder, out):
    with tarfile.open(out, "w:gz") as tf:
        tf.add(folder, arcname=".")
    return str(out)


UNPACK_CASES = {
    "over_limit": "unpacks to more than the limit of 10000 bytes",
    "zip_bomb": "compressed more than 100:1",
    "tar_bomb": "compressed more than 100:1",
    "size_lie": "does not have the size its metadata records",
}


@pytest.mark.parametrize("case", list(UNPACK_CASES))
def test_unpacking_is_bounded_and_refused_before_writing(case, tiny, tmp_path, monkeypatch):
    suffix = ".zip"
    if case == "over_limit":
        monkeypatch.setenv("MODEL_ZOO_MAX_UNPACKED_BYTES", "10000")
        archive = _zip(tiny, tmp_path / "a.zip")
    elif case == "zip_bomb":
        _with_zero_asset(tiny, 8 << 20)
        archive = _zip(tiny, tmp_path / "a.zip")
    elif case == "tar_bomb":
        _with_zero_asset(tiny, 8 << 20)
        archive, suffix = _tar(tiny, tmp_path / "a.tar.gz"), ".tar.gz"
    else:  # The metadata records a small README.md; the archive's is 4 MiB.
        card = bytes(4 << 20)
        archive = tmp_path / "a.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for rel in ["metadata.json", *reg.describe_files(tiny)]:
                if rel == "README.md":
                    zf.writestr(rel, card)
                else:
                    zf.write(os.path.join(tiny, rel), rel)
    url = _offline_url(str(archive), monkeypatch, suffix)

    def no_writing(*args, **kwargs):
        raise AssertionError("an archive member was written before the checks")

    monkeypatch.setattr(shutil, "copyfileobj", no_writing)
    with pytest.raises(IntegrityError, match=UNPACK_CASES[case]):
        reg.resolve(url)
    assert _cache_files() == []


def test_a_good_tar_archive_unpacks(tiny, tmp_path, monkeypatch):
    url = _offline_url(_tar(tiny, tmp_path / "a.tar.gz"), monkeypatch, ".tar.gz")
    assert reg.resolve(url).metadata.name == "forecast_lstm_tiny"


# -- 6 and 9: the model itself ----------------------------------------------------------------


def _lambda_checkpoint(folder):
    import keras

    from model_zoo.checkpoint import write_checkpoint

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    meta = reg.CheckpointMetadata.load(folder)
    shutil.rmtree(folder)
    write_checkpoint(folder, model, {}, meta)


def _garbage_model(folder):
    with open(os.path.join(folder, "model.keras"), "wb") as f:
        f.write(b"PK\x03\x04 not a keras file")
    _rehash(folder)


def _edit_params(folder):
    _edit_json(os.path.join(folder, "metadata.json"), lambda m: m.update(params=m["params"] + 1))


@pytest.mark.parametrize("damage,match", [
    (_lambda_checkpoint, "cannot be loaded with Keras's safe_mode.*Received: ValueError.*Lambda"),
    (_garbage_model, "cannot be loaded with Keras's safe_mode"),
    (_edit_params, r"parameter count its metadata records \(\d+\)\. Received: \d+ parameters"),
], ids=["lambda", "garbage", "params"])
def test_model_that_keras_refuses_or_of_other_size_is_an_integrity_error(damage, match, tiny):
    damage(tiny)
    with pytest.raises(IntegrityError, match=match) as e:
        model_zoo.load(tiny)
    assert "\n" not in str(e.value)


# -- 12: permissions follow the umask; "not a checkpoint" names a few entries -------------------


def test_archive_and_cached_folder_follow_the_umask(tiny, tmp_path, monkeypatch):
    old = os.umask(0o002)
    try:
        archive = str(tmp_path / "tiny.zip")
        reg.pack(tiny, archive)
        folder = reg.resolve(_offline_url(archive, monkeypatch)).directory
    finally:
        os.umask(old)
    assert os.stat(archive).st_mode & 0o777 == 0o664
    assert os.stat(folder).st_mode & 0o777 == 0o775


@pytest.mark.parametrize("where", ["folder", "archive"])
def test_not_a_checkpoint_names_a_few_entries(where, tmp_path, monkeypatch):
    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(12):
        (junk / f"file{i:02d}.txt").write_text("x")
    if where == "folder":
        with pytest.raises(InputError, match="no metadata.json") as e:
            model_zoo.load(str(junk))
    else:
        archive = shutil.make_archive(str(tmp_path / "junk"), "zip", junk)
        with pytest.raises(IntegrityError, match="holds no checkpoint") as e:
            reg.resolve(_offline_url(archive, monkeypatch))
    assert str(e.value).endswith("['file00.txt', 'file01.txt', 'file02.txt', 'file03.txt', "
                                 "'file04.txt'] and 7 more")
