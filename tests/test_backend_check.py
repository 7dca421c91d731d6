"""benchmarks/backend_check.py: TensorFlow references, then the same checkpoint under JAX."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from script_loader import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "backend_check.py")


def _load_script():
    return load_script("benchmarks/backend_check.py")


def _check(registry, refs, out_json):
    env = {**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, SCRIPT, "check", "--refs", refs, "--registry",
                           registry, "--json", out_json], capture_output=True, text=True,
                          env=env, timeout=300)


def test_reference_then_check_under_jax(tmp_path, tiny_forecaster_dir):
    pytest.importorskip("jax")
    registry, refs = tmp_path / "registry", tmp_path / "refs"
    shutil.copytree(tiny_forecaster_dir, registry / "tiny_forecaster")
    _load_script().main(["reference", "--out", str(refs), "--registry", str(registry)])
    ref = np.load(refs / "tiny_forecaster.npz")
    assert ref["input_0"].shape == (8, 24, 1) and ref["output_0"].shape[0] == 8

    out = _check(str(registry), str(refs), str(tmp_path / "jax.json"))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    report = json.loads((tmp_path / "jax.json").read_text())
    assert report["backend"] == "jax"
    (row,) = report["rows"]
    assert row["checkpoint"] == "tiny_forecaster" and row["max_abs_diff"] < 1e-4
    # One LSTM, on the CPU: no cuDNN, one call of another path; the static report says eligible.
    assert (row["cudnn_calls"], row["other_calls"], row["recurrent_layers"]) == (0, 1, 1)
    assert row["report_eligible"] == 1

    # A reference that does not match fails the check.
    np.savez(refs / "tiny_forecaster.npz", input_0=ref["input_0"], output_0=ref["output_0"] + 1)
    out = _check(str(registry), str(refs), str(tmp_path / "jax.json"))
    assert out.returncode == 1, out.stdout[-2000:]
    assert json.loads((tmp_path / "jax.json").read_text())["rows"][0]["max_abs_diff"] > 0.5
