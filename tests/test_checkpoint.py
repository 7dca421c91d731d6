"""The checkpoint format: complete, hashed, atomic, and read back exactly."""

import json
import os

import keras
import numpy as np
import pytest

from model_zoo.checkpoint import model_card, read_checkpoint, write_checkpoint
from model_zoo.errors import InputError
from model_zoo.registry import CheckpointMetadata, verify_files


def _model():
    inputs = keras.Input((4, 2))
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.LSTM(5)(inputs)))


def _meta():
    return CheckpointMetadata(name="test_lstm_tiny", version=3, task="forecasting",
                              architecture="lstm", description="d",
                              metrics={"test": {"mase": 0.5}, "baselines": {"naive": {"mase": 1}}})


def test_write_and_read_back(tmp_path):
    model = _model()
    target = tmp_path / "ckpt"
    write_checkpoint(target, model, {"a": 1}, _meta(), assets={"vocab.txt": "x\ny\n"})
    assert sorted(os.listdir(target)) == ["README.md", "assets", "metadata.json", "model.keras",
                                          "preprocessing.json"]
    meta = CheckpointMetadata.load(target)
    assert meta.params == model.count_params()
    assert set(meta.files) == {"README.md", "assets/vocab.txt", "model.keras",
                               "preprocessing.json"}
    verify_files(target, meta.files)
    assert meta.framework["keras"] == keras.__version__ and meta.created
    machine = meta.framework["hardware"]  # Where the numbers and timings come from.
    assert machine["cpus"] >= 1 and machine["cpu"] and isinstance(machine["accelerators"], list)
    with open(os.path.join(target, "README.md"), encoding="utf-8") as f:
        assert f"| trained on | {machine['cpu']}, {machine['cpus']} CPUs" in f.read()
    restored, preprocessing, meta2 = read_checkpoint(target)
    assert preprocessing == {"a": 1} and meta2.version == 3
    x = np.ones((2, 4, 2), "float32")
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)
    card = (target / "README.md").read_text()
    assert "# test_lstm_tiny (version 3)" in card and "| mase | 0.5 |" in card
    assert model_card(meta) == card


def test_refuses_to_overwrite_unless_asked(tmp_path):
    target = tmp_path / "ckpt"
    write_checkpoint(target, _model(), {}, _meta())
    with pytest.raises(InputError, match="Refusing to overwrite"):
        write_checkpoint(target, _model(), {}, _meta())
    write_checkpoint(target, _model(), {"new": True}, _meta(), overwrite=True)
    assert json.loads((target / "preprocessing.json").read_text()) == {"new": True}
    assert os.listdir(tmp_path) == ["ckpt"]


def test_a_failure_leaves_nothing_behind(tmp_path):
    target = tmp_path / "ckpt"
    with pytest.raises(TypeError):
        write_checkpoint(target, _model(), {"bad": object()}, _meta())
    assert os.listdir(tmp_path) == []
    # Replacing: the old checkpoint survives a failed overwrite untouched.
    write_checkpoint(target, _model(), {"old": 1}, _meta())
    before = CheckpointMetadata.load(target).files
    with pytest.raises(TypeError):
        write_checkpoint(target, _model(), {"bad": object()}, _meta(), overwrite=True)
    assert CheckpointMetadata.load(target).files == before
    assert os.listdir(tmp_path) == ["ckpt"]


def test_refresh_card_keeps_hashes_consistent(tmp_path):
    from model_zoo.checkpoint import refresh_card

    target = tmp_path / "ckpt"
    write_checkpoint(target, _model(), {}, _meta())
    (target / "README.md").write_text("stale card")
    refresh_card(target)
    meta = CheckpointMetadata.load(target)
    verify_files(target, meta.files)
    assert (target / "README.md").read_text() == model_card(meta)


def test_trained_model_is_saved_without_optimizer_state(tmp_path):
    import io
    import zipfile

    import h5py

    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4, 2), "float32"), np.zeros((8, 3), "float32"), epochs=1, verbose=0)
    write_checkpoint(tmp_path / "ckpt", model, {}, _meta())
    with zipfile.ZipFile(tmp_path / "ckpt" / "model.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert "optimizer" not in weights and "layers" in weights
    assert model.optimizer is not None  # The caller's model keeps its optimizer.
    restored, _, _ = read_checkpoint(tmp_path / "ckpt")
    x = np.ones((2, 4, 2), "float32")
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)
