"""Data-parallel training with tf.distribute (issue 19, part 3): `model-zoo train RECIPE
--distribute mirrored` splits each global batch (the recipe's batch size) across the local
devices and sums the gradients, so its loss history follows one device's.

Tested on this CPU split into 2 logical devices (`MODEL_ZOO_CPU_DEVICES=2`): two replicas in
one process, the code path of several GPUs. Each run is a subprocess, since the split must
happen before TensorFlow starts. The two histories are not bit-identical: each half-batch's
gradient is summed in another order (the forecaster agrees to 0.2%), and each replica draws
its own dropout masks (the sentiment model has dropout: its losses agree to 1%, and its
accuracies to one training example of 64).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

CASES = {
    # A validation set of 2 windows: Keras 3 averages the first batch of each set across the
    # replicas to build the model, which needs it to split evenly (training/distribute.py).
    "forecasting": ["--set", "dataset=airline", "--set", "units=8", "--set", "depth=1",
                    "--set", "val_size=13", "--set", "pretrain_epochs=1",
                    "--set", "pretrain_max_windows=256", "--epochs", "2"],
    "sentiment": ["--set", "dataset=rotten_tomatoes", "--set", "train_size=64",
                  "--set", "units=8", "--epochs", "2"],
}
TOLERANCE = {"forecasting": 2e-3, "sentiment": 1e-2}  # relative, each epoch's loss


def _train(recipe, run_dir, distribute):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
           "MODEL_ZOO_CPU_DEVICES": "2" if distribute else ""}
    args = [sys.executable, "-m", "model_zoo.cli", "train", recipe, *CASES[recipe],
            "--run-dir", str(run_dir), "--quiet"]
    if distribute:
        args += ["--distribute", "mirrored"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(os.path.join(run_dir, "history.json"), encoding="utf-8") as f:
        history = json.load(f)
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        return history, json.load(f)


@pytest.mark.parametrize("recipe", sorted(CASES))
def test_mirrored_training_follows_one_device(recipe, tmp_path):
    one, one_metrics = _train(recipe, tmp_path / "one", distribute=False)
    two, two_metrics = _train(recipe, tmp_path / "two", distribute=True)
    assert "distribute" not in one_metrics
    assert two_metrics["distribute"]["replicas"] == 2
    assert two_metrics["distribute"]["strategy"] == "mirrored"
    assert sorted(two) == sorted(one) and len(two["loss"]) == len(one["loss"]) == 2
    for key in one:
        if key.endswith("accuracy"):
            np.testing.assert_allclose(two[key], one[key], atol=1 / 64 + 1e-6, err_msg=key)
        else:
            np.testing.assert_allclose(two[key], one[key], rtol=TOLERANCE[recipe], err_msg=key)
