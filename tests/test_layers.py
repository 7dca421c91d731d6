"""RNN building blocks: stacks, the peephole cell, and cudnn_report."""

import keras
import numpy as np
import pytest

from model_zoo.layers import PeepholeLSTMCell, cudnn_report, recurrent_layer, rnn_stack


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_stack_shapes_and_eligibility(cell, bidirectional):
    inputs = keras.Input((7, 3))
    x = rnn_stack(inputs, cell=cell, units=[8, 4], bidirectional=bidirectional, dropout=0.2,
                  return_sequences=True)
    model = keras.Model(inputs, x)
    assert model(np.zeros((2, 7, 3), "float32")).shape == (2, 7, 8 if bidirectional else 4)
    report = cudnn_report(model)
    assert len(report) == (4 if bidirectional else 2)
    # Every backend's cuDNN kernel, except that JAX has no cuDNN GRU.
    backends = ("tensorflow", "jax", "torch") if cell == "lstm" else ("tensorflow", "torch")
    assert all(v.eligible(b) for v in report for b in backends), str(report)
    assert report.all_eligible == (cell == "lstm"), str(report)
    assert [type(layer).__name__ for layer in model.layers].count("Dropout") == 1


def test_rnn_stack_rejects_bad_arguments():
    inputs = keras.Input((7, 3))
    with pytest.raises(ValueError, match="Received: units=0"):
        rnn_stack(inputs, units=0)
    with pytest.raises(ValueError, match="dropout"):
        rnn_stack(inputs, units=4, dropout=1.5)
    with pytest.raises(ValueError, match="Received: cell='rnn'"):
        recurrent_layer("rnn", 4)


@pytest.mark.parametrize(
    "layer, reason",
    [
        (keras.layers.LSTM(4, activation="relu"), "activation=relu"),
        (keras.layers.LSTM(4, recurrent_activation="hard_sigmoid"), "recurrent_activation"),
        (keras.layers.LSTM(4, recurrent_dropout=0.2), "recurrent_dropout=0.2"),
        (keras.layers.LSTM(4, unroll=True), "unroll=True"),
        (keras.layers.LSTM(4, use_bias=False), "use_bias=False"),
        (keras.layers.LSTM(4, use_cudnn=False), "use_cudnn=False"),
        (keras.layers.GRU(4, reset_after=False), "reset_after=False"),
        (keras.layers.SimpleRNN(4), "SimpleRNN has no cuDNN kernel"),
        (keras.layers.RNN(PeepholeLSTMCell(4)), "custom cell PeepholeLSTMCell"),
    ],
)
def test_cudnn_report_names_the_blocking_argument(layer, reason):
    model = keras.Sequential([keras.Input((5, 3)), layer])
    report = cudnn_report(model)
    assert len(report) == 1
    verdict = report[0]
    assert not verdict.eligible()
    for backend in ("tensorflow", "jax", "torch"):
        assert any(reason in r for r in verdict.reasons[backend]), verdict.reasons
    assert reason.split("=")[0] in str(report)


def test_cudnn_report_gru_has_no_cudnn_kernel_on_jax():
    from model_zoo.layers.cudnn import JAX_GRU

    inputs = keras.Input((7, 3))
    x = keras.layers.GRU(4, return_sequences=True)(inputs)
    report = cudnn_report(keras.Model(inputs, keras.layers.LSTM(4)(x)))
    gru, lstm = report
    assert gru.kind == "GRU" and lstm.kind == "LSTM"
    assert gru.eligible("tensorflow") and gru.eligible("torch") and not gru.eligible("jax")
    assert gru.reasons["jax"] == [JAX_GRU] and JAX_GRU in str(report)
    assert lstm.eligible() and not report.all_eligible


def test_cudnn_report_masks_per_backend():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(50, 8, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4))(x)
    report = cudnn_report(keras.Model(inputs, keras.layers.Dense(2)(x)))
    assert len(report) == 2
    for verdict in report:
        assert verdict.eligible("tensorflow")
        assert not verdict.eligible("jax") and not verdict.eligible("torch")
        assert "right-padded" in verdict.notes[0]
    # Told there is no mask, every backend is fine.
    assert cudnn_report(keras.Model(inputs, x), masked=False).all_eligible


def test_cudnn_report_sees_nested_models():
    inner = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, return_sequences=True)],
                             name="inner")
    inputs = keras.Input((5, 3))
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(2))(inner(inputs))
    report = cudnn_report(keras.Model(inputs, outputs))
    assert [v.kind for v in report] == ["GRU"]
    assert report[0].name.startswith("inner/")


def _numpy_peephole(x, cell):
    kernel, recurrent, peep, bias = [np.asarray(w) for w in
                                     (cell.kernel, cell.recurrent_kernel, cell.peephole_kernel,
                                      cell.bias)]
    u = cell.units
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        zi, zf, zc, zo = np.split(z, 4, axis=-1)
        i = sig(zi + peep[0] * c)
        f = sig(zf + peep[1] * c)
        c = f * c + i * np.tanh(zc)
        o = sig(zo + peep[2] * c)
        h = o * np.tanh(c)
    return h


def test_peephole_cell_matches_the_equations(tmp_path):
    keras.utils.set_random_seed(1)
    cell = PeepholeLSTMCell(5, peephole_initializer="random_normal")
    layer = keras.layers.RNN(cell)
    x = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out, _numpy_peephole(x, cell), atol=1e-5)
    # The forget-gate bias starts at one.
    np.testing.assert_array_equal(np.asarray(cell.bias)[5:10], np.ones(5))
    # Peepholes matter: zeroing them changes the output.
    cell.peephole_kernel.assign(np.zeros((3, 5), "float32"))
    assert not np.allclose(np.asarray(layer(x)), out)
    model = keras.Sequential([keras.Input((6, 4)), layer])
    model.save(tmp_path / "p.keras")
    restored = keras.saving.load_model(tmp_path / "p.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="Received: units=0"):
        PeepholeLSTMCell(0)
