"""benchmarks/charlm_capacity.py: trains and scores each config on an exported id file."""

import json

import numpy as np
import pytest
from script_loader import load_script


def _load_script():
    return load_script("benchmarks/charlm_capacity.py")


def test_train_scores_every_epoch_and_learns(tmp_path):
    # A stream with an obvious pattern: a model that learns anything beats the uniform 2.56.
    rng = np.random.default_rng(0)
    stream = np.tile(np.arange(2, 12), 900) + (rng.random(9000) < 0.02)
    ids = tmp_path / "ids.npz"
    np.savez(ids, train=stream[:6000], validation=stream[6000:7500], test=stream[7500:],
             vocabulary_size=13, seq_length=32, context=8)
    out = tmp_path / "sweep.json"
    _load_script().main(["train", "--ids", str(ids), "--configs", "1x16", "--epochs", "3",
                         "--batch-size", "16", "--embedding-dim", "8", "--learning-rate",
                         "1e-2", "--out", str(out)])
    (row,) = json.loads(out.read_text())
    assert row["config"] == "1x16" and [e["epoch"] for e in row["epochs"]] == [1, 2, 3]
    last = row["epochs"][-1]
    assert last["test"] < 0.5 * np.log(13), last
    assert row["epochs"][0]["validation"] > last["validation"]


def test_bad_config_is_a_clear_error():
    with pytest.raises(SystemExit, match="depth>x<units"):
        _load_script().parse_config("512")
