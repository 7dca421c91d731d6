"""A checkpoint saved under the TensorFlow backend loads under JAX (and torch) with equal outputs."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import model_zoo
from series_data import seasonal_series

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


WEIGHT_UPDATE_SCRIPT = """
import sys
import numpy as np
import keras
from model_zoo.models.step_functions import compile_function, inference_function
from model_zoo.models.text import StatefulSampler, build_lstm_language_model
assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
model = build_lstm_language_model(vocabulary_size=12, embedding_dim=4, units=8, depth=1)
call = compile_function(lambda x: model(x, training=False), model.variables)
sampler = StatefulSampler(model)
x = np.array([[2, 3, 4, 5]], "int32")
before = keras.ops.convert_to_numpy(call(x))
verb = keras.ops.convert_to_numpy(inference_function(model)(x))
first = sampler.generate([[2, 3]], steps=6, temperature=1.0, seed=0)
head = model.get_layer("lm_head")
kernel, bias = head.get_weights()
bias[7] = 50.0  # the head now always prefers id 7
head.set_weights([kernel, bias])
after = keras.ops.convert_to_numpy(call(x))
second = sampler.generate([[2, 3]], steps=6, temperature=1.0, seed=0)
assert np.abs(after - before).max() > 10, "a compiled call kept the old weights"
np.testing.assert_allclose(verb, before, atol=1e-5)
np.testing.assert_allclose(keras.ops.convert_to_numpy(inference_function(model)(x)), after,
                           atol=1e-5)
assert (np.asarray(second) == 7).all(), second
print("ok")
"""


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_compiled_functions_see_weight_updates(backend):
    # jax.jit bakes in the variables a function closes over; compile_function must not.
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", WEIGHT_UPDATE_SCRIPT, backend],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "ok"


def test_the_verbs_network_is_traced_once_for_every_batch_and_length():
    import keras

    from model_zoo.models.series_classification import build_rnn_classifier
    from model_zoo.models.step_functions import inference_function

    model = build_rnn_classifier(channels=2, classes=3, units=4)
    run = inference_function(model)
    assert inference_function(model) is run  # one per model
    rng = np.random.default_rng(0)
    for batch, length in ((2, 5), (3, 9), (1, 30)):
        x = rng.normal(size=(batch, length, 2)).astype("float32")
        np.testing.assert_allclose(keras.ops.convert_to_numpy(run(x)),
                                   keras.ops.convert_to_numpy(model(x, training=False)),
                                   rtol=1e-5, atol=1e-6)
    assert run.experimental_get_tracing_count() == 1
