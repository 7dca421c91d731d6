"""A checkpoint saved under the TensorFlow backend loads under JAX (and torch) with equal outputs."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import model_zoo
from tests.conftest import seasonal_series

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import json, sys
import numpy as np
import keras
import model_zoo
assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
task = model_zoo.load(sys.argv[2])
series = np.asarray(json.loads(sys.argv[3]))
print(json.dumps(task.forecast(series, horizon=9).tolist()))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_checkpoint_loads_under_other_backend(backend, tiny_forecaster_dir):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    series = seasonal_series(50)
    expected = model_zoo.load(tiny_forecaster_dir).forecast(series, horizon=9)
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", SCRIPT, backend, tiny_forecaster_dir,
                          json.dumps(series.tolist())], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = np.asarray(json.loads(out.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
