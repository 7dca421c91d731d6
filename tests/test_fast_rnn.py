"""FastLSTM / FastGRU: the fused CPU path gives Keras's outputs, states and gradients."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from model_zoo.layers import FastGRU, FastLSTM, cudnn_report, fast_path_reason, recurrent_layer
from model_zoo.layers import fast_rnn

B, T, I, H = 3, 5, 4, 6
PAIRS = {"lstm": (FastLSTM, keras.layers.LSTM), "gru": (FastGRU, keras.layers.GRU)}
RIGHT_PADDED = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
HOLES = np.array([[0, 1, 0, 1, 1], [1, 1, 0, 0, 1], [0, 0, 1, 0, 0]], bool)
CASES = {
    "plain": ({}, None),
    "right_padded": ({}, RIGHT_PADDED),
    "holes": ({}, HOLES),
    "go_backwards": ({"go_backwards": True}, None),
    "go_backwards_holes": ({"go_backwards": True, "return_sequences": True}, HOLES),
    "return_sequences": ({"return_sequences": True}, None),
    "return_sequences_holes": ({"return_sequences": True}, HOLES),
    "zero_output_for_mask": ({"return_sequences": True, "zero_output_for_mask": True}, HOLES),
    "return_state": ({"return_state": True}, HOLES),
    "initial_state": ({"return_state": True, "return_sequences": True}, None),
    "bidirectional": ({"bidirectional": True}, None),
    "bidirectional_holes": ({"bidirectional": True, "return_sequences": True}, HOLES),
}


@pytest.fixture(params=["tf_loop", "onednn"])
def kernel(request, monkeypatch):
    """Runs a test on the TensorFlow loop and on the compiled oneDNN kernel. `make setup` builds
    the kernel (scripts/build_dnnl_rnn.sh); where it could not, its cases skip, except in CI,
    where a missing kernel fails."""
    if request.param == "onednn":
        monkeypatch.setenv("MODEL_ZOO_DNNL_RNN", "1")
        reason = fast_rnn.dnnl_kernel_reason()
        if reason is not None:
            if os.environ.get("CI"):
                pytest.fail(f"the oneDNN kernel should be built by `make setup`: {reason}")
            pytest.skip(reason)
    else:
        monkeypatch.setenv("MODEL_ZOO_DNNL_RNN", "0")
    return request.param, _spy(monkeypatch, "_dnnl_rnn")


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the calls of the fused loop, to tell it from Keras's fallback."""
    return _spy(monkeypatch, "_fused_rnn")


def _spy(monkeypatch, name):
    """The list of the cell names `fast_rnn.<name>` is called with from now on."""
    calls = []
    original = getattr(fast_rnn, name)

    def spy(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(fast_rnn, name, spy)
    return calls


def _pair(cell, weights_seed=0, bidirectional=False, **kwargs):
    """A zoo layer and a Keras layer with the same random (non-zero bias) weights."""
    fast_cls, keras_cls = PAIRS[cell]
    fast, ref = fast_cls(H, **kwargs), keras_cls(H, **kwargs)
    if bidirectional:
        fast, ref = keras.layers.Bidirectional(fast), keras.layers.Bidirectional(ref)
    ref.build((B, T, I))
    fast.build((B, T, I))
    rng = np.random.default_rng(weights_seed)
    ref.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in ref.get_weights()])
    fast.set_weights(ref.get_weights())
    return fast, ref


def _run(layer, x, mask=None, initial_state=None, training=False):
    """Outputs and gradients of a fixed random projection of them w.r.t. inputs, weights and
    initial states."""
    x = tf.constant(x)
    sources = [x] + [tf.constant(s) for s in initial_state or []]
    with tf.GradientTape() as tape:
        tape.watch(sources)
        kwargs = {"initial_state": sources[1:]} if initial_state else {}
        out = layer(x, mask=mask, training=training, **kwargs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        rng = np.random.default_rng(1)
        loss = sum(tf.reduce_sum(o * rng.normal(size=o.shape).astype("float32")) for o in outs)
    grads = tape.gradient(loss, sources + layer.trainable_weights)
    assert all(g is not None for g in grads)
    return [np.asarray(o) for o in outs] + [np.asarray(g) for g in grads]


def _assert_same(got, expected):
    """Equal to float32 round-off: 1e-5 relative in norm, and element-wise to 1e-5 relative
    with an absolute floor of 1e-6 times the tensor's scale (sums of O(scale) terms)."""
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g, e = np.asarray(g), np.asarray(e)
        scale = max(1.0, float(np.abs(e).max()))
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6 * scale)
        assert np.linalg.norm(g - e) <= 1e-5 * max(np.linalg.norm(e), 1e-6)


def _inputs(seed=2):
    return np.random.default_rng(seed).normal(size=(B, T, I)).astype("float32")


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_outputs_states_and_gradients_match_keras(cell, case, fused_calls, kernel):
    kwargs, mask = CASES[case]
    fast, ref = _pair(cell, **kwargs)
    initial_state = None
    if case == "initial_state":
        rng = np.random.default_rng(3)
        initial_state = [rng.normal(size=(B, H)).astype("float32")
                         for _ in range(2 if cell == "lstm" else 1)]
    x = _inputs()
    expected = _run(ref, x, mask, initial_state)
    got = _run(fast, x, mask, initial_state)
    assert fused_calls, "the fused loop did not run"
    # The oneDNN kernel takes every unmasked call (masks keep the TensorFlow loop).
    name, dnnl_calls = kernel
    assert bool(dnnl_calls) == (name == "onednn" and mask is None)
    _assert_same(got, expected)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stateful_across_two_calls(cell, fused_calls, kernel):
    fast, ref = _pair(cell, stateful=True, return_sequences=True)
    x1, x2 = _inputs(4), _inputs(5)
    for layer in (fast, ref):
        layer(x1)
    _assert_same([np.asarray(s) for s in fast.states], [np.asarray(s) for s in ref.states])
    _assert_same(_run(fast, x2, HOLES), _run(ref, x2, HOLES))
    _assert_same([np.asarray(s) for s in fast.states], [np.asarray(s) for s in ref.states])
    assert len(fused_calls) == 2
    assert len(kernel[1]) == (kernel[0] == "onednn")  # the first call is unmasked


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_input_dropout_in_training_matches_keras(cell, fused_calls, kernel):
    # Same seed: the same dropout mask, drawn once per call and applied at every step.
    fast, ref = _pair(cell, dropout=0.5, seed=7, return_sequences=True)
    x = _inputs()
    got, expected = _run(fast, x, training=True), _run(ref, x, training=True)
    assert fused_calls
    assert bool(kernel[1]) == (kernel[0] == "onednn")
    _assert_same(got, expected)
    assert not np.allclose(got[0], _run(fast, x)[0])  # dropout did something


def test_inside_a_tf_function_and_with_unknown_time(fused_calls, kernel):
    fast, ref = _pair("lstm", return_sequences=True)
    x = _inputs()

    @tf.function(input_signature=[tf.TensorSpec((None, None, I))])
    def fn(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = fast(t)
            loss = tf.reduce_sum(y * y)
        return y, tape.gradient(loss, t)

    y, dx = fn(tf.constant(x))
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y_ref = ref(t)
        loss = tf.reduce_sum(y_ref * y_ref)
    _assert_same([y, dx], [y_ref, tape.gradient(loss, t)])
    assert fused_calls
    assert bool(kernel[1]) == (kernel[0] == "onednn")


def test_inside_an_xla_compiled_function(fused_calls, kernel):
    fast, ref = _pair("gru", return_sequences=True)
    x = tf.constant(_inputs())

    def outputs_and_grads(layer):
        @tf.function(jit_compile=True)
        def fn(t):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = layer(t)
                loss = tf.reduce_sum(y * y)
            return [y] + tape.gradient(loss, [t] + layer.trainable_weights)

        return fn(x)

    _assert_same(outputs_and_grads(fast), outputs_and_grads(ref))
    assert fused_calls
    assert not kernel[1]  # a custom op has no XLA kernel: XLA callers keep the loop


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fit_and_predict_match_keras(cell, fused_calls, kernel):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, T, I)).astype("float32")
    x[8:, 3:] = 0.0  # right-padded
    y = rng.normal(size=(16, 1)).astype("float32")
    histories, predictions = [], []
    # The loop trains a masked model; the oneDNN kernel takes unmasked sequences only.
    masked = kernel[0] == "tf_loop"
    for layer_cls in PAIRS[cell]:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((T, I))
        h = keras.layers.Masking(0.0)(inputs) if masked else inputs
        h = keras.layers.Bidirectional(layer_cls(H, return_sequences=True))(h)
        h = layer_cls(H, dropout=0.2)(h)
        model = keras.Model(inputs, keras.layers.Dense(1)(h))
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        histories.append(model.fit(x, y, batch_size=8, epochs=2, shuffle=False,
                                   verbose=0).history["loss"])
        predictions.append(model.predict(x, verbose=0))
    assert fused_calls  # both the Bidirectional and the top layer, in fit and in predict
    assert bool(kernel[1]) == (kernel[0] == "onednn")
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)
    np.testing.assert_allclose(predictions[0], predictions[1], rtol=1e-4, atol=1e-5)
    assert len(histories[0]) == 2 and histories[0][0] != histories[0][1]  # it trained


def test_keras_file_round_trip(tmp_path, fused_calls):
    inputs = keras.Input((T, I))
    h = keras.layers.Bidirectional(FastGRU(H, return_sequences=True))(inputs)
    model = keras.Model(inputs, FastLSTM(H, go_backwards=True)(h))
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    kinds = [type(layer).__name__ for layer in restored.layers]
    assert kinds == ["InputLayer", "Bidirectional", "FastLSTM"]
    assert type(restored.layers[1].backward_layer).__name__ == "FastGRU"
    assert restored.layers[1].backward_layer.go_backwards
    x = _inputs()
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(model(x)), atol=1e-6)


def test_with_keras_layers_swaps_every_fused_layer_and_keeps_the_weights(fused_calls):
    """What export converts: Keras's LSTM/GRU in place of the fused ones, inside wrappers
    too, the same outputs; a model without fused layers is returned as it is."""
    inputs = keras.Input((T, I))
    h = keras.layers.Bidirectional(FastGRU(H, return_sequences=True))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(FastLSTM(H, go_backwards=True)(h)))
    plain = fast_rnn.with_keras_layers(model)
    assert [type(layer).__name__ for layer in plain.layers] == [
        "InputLayer", "Bidirectional", "LSTM", "Dense"]
    assert {type(plain.layers[1].forward_layer), type(plain.layers[1].backward_layer)} == {
        keras.layers.GRU}
    assert plain.layers[2].go_backwards
    x = _inputs()
    out = np.asarray(plain(x))
    assert fused_calls == []  # Keras's own loops ran.
    np.testing.assert_allclose(out, np.asarray(model(x)), atol=1e-5)
    assert sorted(fused_calls) == ["gru", "gru", "lstm"]
    assert fast_rnn.with_keras_layers(plain) is plain


def test_weights_of_a_plain_keras_model_transfer():
    # A published checkpoint holds keras.layers.LSTM; the zoo layer takes its weights as they are.
    ref = keras.Sequential([keras.Input((T, I)), keras.layers.LSTM(H)])
    fast = keras.Sequential([keras.Input((T, I)), recurrent_layer("lstm", H, fast=True)])
    assert isinstance(fast.layers[0], FastLSTM)
    fast.set_weights(ref.get_weights())
    x = _inputs()
    np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)
    assert fast.layers[0].get_config()["units"] == H


def test_fallback_and_its_report(fused_calls):
    fast, ref = _pair("lstm", recurrent_dropout=0.3)
    assert fast_path_reason(fast) == fast.fast_path_reason() == "recurrent dropout"
    x = _inputs()
    _assert_same(_run(fast, x), _run(ref, x))  # no dropout outside training: same numbers
    assert not fused_calls
    fast(x, training=True)  # recurrent dropout runs, on Keras's loop
    assert not fused_calls
    assert fast_path_reason(FastGRU(4, reset_after=False)) == "reset_after=False"
    assert fast_path_reason(FastLSTM(4, activation="relu")) == "activation=relu"
    assert fast_path_reason(FastLSTM(4)) is None
    assert "keras.layers.LSTM" in fast_path_reason(keras.layers.LSTM(4))
    assert fast_path_reason(recurrent_layer("peephole_lstm", 4)) == "peephole cell"

    inputs = keras.Input((T, I))
    h = FastLSTM(H, return_sequences=True, name="fused")(inputs)
    model = keras.Model(inputs, FastGRU(H, recurrent_dropout=0.1, name="fallback")(h))
    report = cudnn_report(model)
    assert [v.cpu for v in report] == ["fast", "recurrent dropout"]
    assert "cpu: fast" in str(report) and "cpu: recurrent dropout" in str(report)


def test_other_backends_fall_back(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert fast_path_reason(FastLSTM(4)) == "backend jax"
    monkeypatch.undo()
    monkeypatch.setattr(fast_rnn, "_gpu_visible", lambda: True)
    assert "GPU" in fast_path_reason(FastGRU(4))


@pytest.mark.parametrize("kernel", ["onednn"], indirect=True)
def test_onednn_kernel_refuses_mismatched_shapes(kernel):
    ops = fast_rnn._dnnl_ops()[0]
    x = tf.zeros((T, B, I))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"kernel must be \(4, 24\)"):
        ops.zoo_dnnl_lstm(x, tf.zeros((I + 1, 4 * H)), tf.zeros((H, 4 * H)), tf.zeros(4 * H),
                          tf.zeros((B, H)), tf.zeros((B, H)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="initial state must be"):
        ops.zoo_dnnl_gru(x, tf.zeros((I, 3 * H)), tf.zeros((H, 3 * H)), tf.zeros(4 * H),
                         tf.zeros((B + 1, H)))
