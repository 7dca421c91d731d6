"""`FastLSTM`, `FastGRU`: Keras's LSTM and GRU with a fused, XLA-compiled CPU path on TensorFlow.

Why this is hand-written: on a CPU Keras 3 runs LSTM/GRU through the generic `backend.rnn`
loop (cuDNN needs a GPU), which projects the inputs inside the time loop and leaves the
backward pass to autodiff of a `tf.while_loop`; that autodiff accumulates the weight gradients
in small per-step matmuls. Neither Keras nor TensorFlow ships a working CPU-fused RNN
(`tf.raw_ops.BlockLSTMV2` measured slower, with wrong gradients). So on that path these layers:

* project every time step's input at once: one `(B*T, I) @ (I, gates*H)` matmul plus the bias;
* run the recurrence with one `h @ U` matmul per step;
* differentiate through a sequence-level `tf.custom_gradient`: the forward keeps the gate
  activations and states, the backward loop does only the per-step `dgates @ U^T`, and
  `dW = X^T @ dgates`, `dU = H_prev^T @ dgates` and `db` are one big matmul (or sum) each;
* compile the training forward and the backward loops with XLA (`jit_compile=True`), as
  nested functions that also run inside Keras's (non-XLA, on CPU) train and predict functions;
  inference, where no tape records, runs a forward without saved activations, uncompiled
  (faster than XLA there, see `_XLA_PARTS`).

With `MODEL_ZOO_DNNL_RNN=1` and the kernel built (`make setup`), unmasked sequences run through
oneDNN's fused LSTM/GRU primitives instead (a compiled TensorFlow op; off by default, see below).

Weights, constructor arguments and config are those of `keras.layers.LSTM`/`GRU`, so weights
transfer with `set_weights` and `.keras` files reload (with `model_zoo.layers` imported).
Everywhere the fused path does not apply (JAX or torch backend, a visible GPU where cuDNN runs,
recurrent dropout, ...), the layers run their Keras parent's code unchanged;
`fast_path_reason(layer)` says which path a layer takes and why.
"""

import functools
import os

import keras

# Which of the three loops XLA compiles: the inference forward, the training forward (which
# keeps the activations) and the backward. Measured on a 2-core AVX-512 EPYC, TF 2.21: XLA
# made the backward 10-20% faster (training forward: even), but the inference forward up to
# 30% slower than a plain `tf.function` at (B, H) = (64, 256), even at (32, 512).
# Override with e.g. MODEL_ZOO_FAST_RNN_XLA=inference,forward,backward (or "none").
_XLA_PARTS = frozenset(
    os.environ.get("MODEL_ZOO_FAST_RNN_XLA", "forward,backward").split(","))


# --------------------------------------------------------------------------------------------
# Eligibility


@functools.lru_cache(maxsize=None)
def _gpu_visible():
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def _activation_name(fn):
    return getattr(fn, "__name__", str(fn))


def fast_path_reason(layer):
    """Why `layer` does not run the fused CPU loop of `FastLSTM`/`FastGRU`, or `None` if it does.

    Args:
        layer: any Keras layer (plain `keras.layers.LSTM` included).

    Returns:
        `None` when a call of `layer` takes the fused path, otherwise a short reason such as
        `"recurrent dropout"`, `"backend jax"` or `"peephole cell"`.

    Example:
    >>> fast_path_reason(FastLSTM(8)) is None  # TensorFlow, no GPU
    True
    >>> fast_path_reason(FastLSTM(8, recurrent_dropout=0.1))
    'recurrent dropout'
    """
    if not isinstance(layer, _FusedRNNMixin):
        cell = getattr(layer, "cell", None)
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
            return f"keras.layers.{type(layer).__name__} (not the zoo's Fast{type(layer).__name__})"
        if type(cell).__name__ == "PeepholeLSTMCell":
            return "peephole cell"
        if cell is not None:
            return f"{type(layer).__name__} over {type(cell).__name__}"
        return f"{type(layer).__name__} is not an LSTM or GRU"
    cell = layer.cell
    if keras.backend.backend() != "tensorflow":
        return f"backend {keras.backend.backend()}"
    if _gpu_visible():
        return "GPU visible (Keras's cuDNN path runs)"
    if layer.use_cudnn is True:
        return "use_cudnn=True"
    if _activation_name(cell.activation) != "tanh":
        return f"activation={_activation_name(cell.activation)}"
    if _activation_name(cell.recurrent_activation) != "sigmoid":
        return f"recurrent_activation={_activation_name(cell.recurrent_activation)}"
    if not cell.use_bias:
        return "use_bias=False"
    if cell.recurrent_dropout:
        return "recurrent dropout"
    if layer.unroll:
        return "unroll=True"
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        return "reset_after=False"
    if layer.compute_dtype != "float32":
        return f"compute dtype {layer.compute_dtype}"
    return None


# --------------------------------------------------------------------------------------------
# The per-cell math. Shapes: x (B, I), h and c (B, H); gates are concatenated along the last
# axis in Keras's order. `project` returns the input projection (with the bias it can take)
# and the bias left for `step`, computed once outside the loop. `step` returns the new states
# (h first) and the per-step tensors the backward pass needs; `step_grad` maps the gradients
# w.r.t. a step's new states to those w.r.t. its previous states and its input and recurrent
# pre-activations.


def _tanh_sigmoid(tf, x):
    # The same function as `tf.sigmoid`, written with tanh, for the XLA-compiled loops:
    # XLA:CPU emits tanh as a short rational approximation, while its logistic measured slow
    # enough to make the XLA GRU forward 1.5x slower (the gates are a large share of the
    # per-step work on a CPU). Uncompiled, the one `tf.sigmoid` op is faster than four.
    return 0.5 + 0.5 * tf.tanh(0.5 * x)


def _plain_sigmoid(tf, x):
    return tf.sigmoid(x)


class _LSTMMath:
    """i, f, c, o gates; bias (4H,) added once to the input projection."""

    n_states = 2
    n_extras = 1
    shared_gate_grads = True  # input and recurrent pre-activations get the same gradient

    @staticmethod
    def project(tf, x, kernel, bias):
        return tf.matmul(x, kernel) + bias, None

    @staticmethod
    def step(tf, sigmoid, xp, states, rkernel, step_bias):
        h, c = states
        z = xp + tf.matmul(h, rkernel)
        zi, zf, zc, zo = tf.split(z, 4, axis=-1)
        i, f, g, o = sigmoid(tf, zi), sigmoid(tf, zf), tf.tanh(zc), sigmoid(tf, zo)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return (h, c), (tf.concat([i, f, g, o], axis=-1),)

    @staticmethod
    def step_grad(tf, d_states, extras, prev_states, states, rkernel):
        dh, dc = d_states
        i, f, g, o = tf.split(extras[0], 4, axis=-1)
        _, c_prev = prev_states
        tc = tf.tanh(states[1])
        dc = dc + dh * o * (1.0 - tc * tc)
        dz = tf.concat([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                        dc * i * (1.0 - g * g), dh * tc * o * (1.0 - o)], axis=-1)
        return (tf.matmul(dz, rkernel, transpose_b=True), dc * f), dz

    @staticmethod
    def bias_grad(tf, d_input, d_recurrent):
        return d_input


class _GRUMath:
    """z, r, h gates with `reset_after=True`; bias (2, 3H): input and recurrent biases."""

    n_states = 1
    n_extras = 2
    shared_gate_grads = False

    @staticmethod
    def project(tf, x, kernel, bias):
        # The recurrent bias of z and r joins the input projection; that of h stays, as r
        # multiplies it.
        units = tf.shape(bias)[1] // 3
        recurrent_h = bias[1, 2 * units:]
        merged = bias[0] + tf.concat([bias[1, :2 * units], tf.zeros_like(recurrent_h)], axis=0)
        return tf.matmul(x, kernel) + merged, recurrent_h

    @staticmethod
    def step(tf, sigmoid, xp, states, rkernel, step_bias):
        (h,) = states
        xz, xr, xh = tf.split(xp, 3, axis=-1)
        rz, rr, rh = tf.split(tf.matmul(h, rkernel), 3, axis=-1)
        rh = rh + step_bias
        z = sigmoid(tf, xz + rz)
        r = sigmoid(tf, xr + rr)
        hh = tf.tanh(xh + r * rh)
        h = hh + z * (h - hh)  # = z * h + (1 - z) * hh, in fewer ops
        return (h,), (tf.concat([z, r, hh], axis=-1), rh)

    @staticmethod
    def step_grad(tf, d_states, extras, prev_states, states, rkernel):
        (dh,) = d_states
        z, r, hh = tf.split(extras[0], 3, axis=-1)
        rh = extras[1]
        (h_prev,) = prev_states
        dah = dh * (1.0 - z) * (1.0 - hh * hh)
        daz = dh * (h_prev - hh) * z * (1.0 - z)
        dar = dah * rh * r * (1.0 - r)
        d_input = tf.concat([daz, dar, dah], axis=-1)
        d_recurrent = tf.concat([daz, dar, dah * r], axis=-1)
        dh_prev = tf.matmul(d_recurrent, rkernel, transpose_b=True) + dh * z
        return (dh_prev,), d_input, d_recurrent

    @staticmethod
    def bias_grad(tf, d_input, d_recurrent):
        return tf.stack([d_input, d_recurrent])


_MATH = {"lstm": _LSTMMath, "gru": _GRUMath}


# --------------------------------------------------------------------------------------------
# The loops, shared by both cells. Time-major: x (T, B, I), mask (T, B, 1) bool or None.


def _forward(math, sigmoid, save, need_seq, x, kernel, rkernel, bias, mask, init):
    """Runs the recurrence. Returns (final states, state sequences, extras sequences).

    State sequences are every state when `save`, only h when `need_seq`, else none; extras
    (the gate activations) only when `save`. Masked steps carry the previous states.
    """
    import tensorflow as tf

    steps, batch = tf.shape(x)[0], tf.shape(x)[1]
    xp, step_bias = math.project(tf, tf.reshape(x, [-1, tf.shape(x)[2]]), kernel, bias)
    xp = tf.reshape(xp, [steps, batch, tf.shape(kernel)[1]])
    n_seq = math.n_states if save else int(need_seq)

    def array():
        return tf.TensorArray(x.dtype, size=steps)

    def body(t, states, seq_arrays, extra_arrays):
        new, extras = math.step(tf, sigmoid, xp[t], states, rkernel, step_bias)
        if mask is not None:
            new = tuple(tf.where(mask[t], n, s) for n, s in zip(new, states))
        seq_arrays = [a.write(t, s) for a, s in zip(seq_arrays, new)]
        extra_arrays = [a.write(t, e) for a, e in zip(extra_arrays, extras)]
        return t + 1, new, seq_arrays, extra_arrays

    loop_vars = (tf.constant(0), tuple(init), [array() for _ in range(n_seq)],
                 [array() for _ in range(math.n_extras if save else 0)])
    _, final, seq_arrays, extra_arrays = tf.while_loop(
        lambda t, *_: t < steps, body, loop_vars)
    return (final, [a.stack() for a in seq_arrays], [a.stack() for a in extra_arrays])


def _backward(math, need_dx, x, kernel, rkernel, bias, mask, init, seqs, extras, d_seq,
              d_final):
    """The custom gradient: per-step `dgates @ U^T` in the loop, weight gradients after it.

    `dx` (`None` unless `need_dx`) is skipped for a model's input data, which nobody watches.
    """
    import tensorflow as tf

    steps = tf.shape(x)[0]
    prev = [tf.concat([s0[None], s[:-1]], axis=0) for s0, s in zip(init, seqs)]

    def body(t, carry, arrays):
        d = list(carry)
        if d_seq is not None:
            d[0] = d[0] + d_seq[t]
        if mask is not None:  # a masked step passed its states through unchanged
            zero = tf.zeros_like(d[0])
            passed = [tf.where(mask[t], zero, di) for di in d]
            d = [tf.where(mask[t], di, zero) for di in d]
        d_prev, *d_gates = math.step_grad(
            tf, d, [e[t] for e in extras], [p[t] for p in prev], [s[t] for s in seqs], rkernel)
        if mask is not None:
            d_prev = tuple(a + b for a, b in zip(d_prev, passed))
        arrays = [a.write(t, g) for a, g in zip(arrays, d_gates)]
        return t - 1, tuple(d_prev), arrays

    # One array for the pre-activation gradients, two when the input and recurrent ones differ.
    arrays = [tf.TensorArray(x.dtype, size=steps)
              for _ in range(1 if math.shared_gate_grads else 2)]
    _, d_init, arrays = tf.while_loop(lambda t, *_: t >= 0, body,
                                      (steps - 1, tuple(d_final), arrays))
    gates = tf.shape(kernel)[1]
    stacked = [tf.reshape(a.stack(), [-1, gates]) for a in arrays]
    d_input, d_recurrent = stacked[0], stacked[-1]
    x2 = tf.reshape(x, [-1, tf.shape(x)[2]])
    h_prev = tf.reshape(prev[0], [-1, tf.shape(rkernel)[0]])
    d_kernel = tf.matmul(x2, d_input, transpose_a=True)
    d_rkernel = tf.matmul(h_prev, d_recurrent, transpose_a=True)
    d_bias = math.bias_grad(tf, tf.reduce_sum(d_input, 0), tf.reduce_sum(d_recurrent, 0))
    dx = None
    if need_dx:
        dx = tf.reshape(tf.matmul(d_input, kernel, transpose_b=True), tf.shape(x))
    return dx, d_kernel, d_rkernel, d_bias, d_init


@functools.lru_cache(maxsize=None)
def _compiled(part, fn, *flags):
    """`fn` with its leading Python flags bound, as a `tf.function`, XLA-compiled if `part` is
    in `_XLA_PARTS`. Cached: every layer shares the traces and compilations."""
    import tensorflow as tf

    return tf.function(functools.partial(fn, *flags), jit_compile=part in _XLA_PARTS)


def _compiled_forward(part, math, save, need_seq):
    sigmoid = _tanh_sigmoid if part in _XLA_PARTS else _plain_sigmoid
    return _compiled(part, _forward, math, sigmoid, save, need_seq)


def _recording(tensors):
    """Whether a gradient tape watches any of `tensors` (then the forward keeps activations)."""
    try:
        from tensorflow.python.eager import record

        return bool(record.should_record_backprop(tensors))
    except Exception:  # a private API: if it moves, always take the differentiable path
        return True


# --------------------------------------------------------------------------------------------
# The compiled oneDNN kernel (kernels/dnnl_rnn.cc, built by scripts/build_dnnl_rnn.sh during
# `make setup`): oneDNN's own fused LSTM / linear-before-reset GRU, forward and backward, for
# unmasked sequences outside XLA (masks, which oneDNN's RNN primitives do not take, and
# XLA-compiled callers keep the TensorFlow loop above). Off unless MODEL_ZOO_DNNL_RNN=1: on a
# 2-core EPYC the bare kernel beat the loop (LSTM inference 67-89% of peak against 30-50%),
# but inside Keras models (`make bench`, column zoo-dnnl) it trained slower than the loop and
# its inference gain varied from run to run; single steps cost 1.6x. See README, Benchmarks.

_DNNL_LIBRARY = os.path.join(os.path.dirname(__file__), "kernels", "_dnnl_rnn.so")


def _dnnl_ops():
    """(the loaded op module or None, why not). The variable is read at every trace."""
    if os.environ.get("MODEL_ZOO_DNNL_RNN", "0") != "1":
        return None, "oneDNN kernel off (MODEL_ZOO_DNNL_RNN=1 turns it on)"
    return _dnnl_library()


@functools.lru_cache(maxsize=None)
def _dnnl_library():
    if not os.path.exists(_DNNL_LIBRARY):
        return None, "oneDNN kernel not built (scripts/build_dnnl_rnn.sh)"
    import tensorflow as tf

    try:
        return tf.load_op_library(_DNNL_LIBRARY), None
    except Exception as err:  # a library built against another TensorFlow, a missing libdnnl
        return None, f"oneDNN kernel does not load ({type(err).__name__}: {err})"


def dnnl_kernel_reason():
    """`None` when the fused path runs the compiled oneDNN kernel, otherwise why it does not."""
    return _dnnl_ops()[1]


def _in_xla():
    """Whether ops are being traced into an XLA cluster (custom ops have no XLA kernel)."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except Exception:  # a private API: if it moves, assume XLA and keep the TF loop
        return True


def _dnnl_bias(tf, cell_name, bias, units):
    """Keras's bias in oneDNN's: LSTM as is; GRU (2, 3H) -> [b_z, b_r, b_h input, b_h rec]."""
    if cell_name == "lstm":
        return bias
    b = tf.reshape(bias, [2, -1])
    return tf.concat([b[0, :2 * units] + b[1, :2 * units], b[0, 2 * units:],
                      b[1, 2 * units:]], axis=0)


def _dnnl_rnn(cell_name, x, kernel, rkernel, bias, init, need_seq):
    """`_fused_rnn` on the oneDNN kernel (no mask), differentiable."""
    import tensorflow as tf

    ops = _dnnl_ops()[0]
    forward, backward = ((ops.zoo_dnnl_lstm, ops.zoo_dnnl_lstm_grad) if cell_name == "lstm"
                         else (ops.zoo_dnnl_gru, ops.zoo_dnnl_gru_grad))
    bias = _dnnl_bias(tf, cell_name, bias, tf.shape(rkernel)[0])
    init = tuple(init)
    if not _recording([x, kernel, rkernel, bias, *init]):
        y, *final, _ = forward(x, kernel, rkernel, bias, *init, training=False)
        return (y if need_seq else None), tuple(final)

    @tf.custom_gradient
    def fused(x, kernel, rkernel, bias, *init):
        y, *final, workspace = forward(x, kernel, rkernel, bias, *init, training=True)

        def grad(d_y, *d_final):
            d_y = tf.zeros_like(y) if d_y is None else d_y
            d_final = [tf.zeros_like(s) if d is None else d for d, s in zip(d_final, final)]
            return tuple(backward(x, kernel, rkernel, bias, *init, y, *final, workspace, d_y,
                                  *d_final))

        return (y, *final), grad

    y, *final = fused(x, kernel, rkernel, bias, *init)
    return y, tuple(final)


def _fused_rnn(cell_name, x, kernel, rkernel, bias, mask, init, need_seq):
    """Returns (h sequence or None, final states) of the fused loop, differentiable."""
    import tensorflow as tf

    if mask is None and _dnnl_ops()[0] is not None and not _in_xla():
        return _dnnl_rnn(cell_name, x, kernel, rkernel, bias, init, need_seq)
    math = _MATH[cell_name]
    init = tuple(init)
    if not _recording([x, kernel, rkernel, bias, *init]):
        final, seqs, _ = _compiled_forward("inference", math, False, need_seq)(
            x, kernel, rkernel, bias, mask, init)
        return (seqs[0] if need_seq else None), final

    need_dx = _recording([x])

    @tf.custom_gradient
    def fused(x, kernel, rkernel, bias, *init):
        # Eagerly, `tf.custom_gradient` calls this under the active tape: without the
        # `stop_gradient`s, `tf.function` would build a differentiable (accumulating) forward.
        x, kernel, rkernel, bias, *init = [tf.stop_gradient(t) for t in
                                           (x, kernel, rkernel, bias, *init)]
        final, seqs, extras = _compiled_forward("forward", math, True, True)(
            x, kernel, rkernel, bias, mask, init)

        def grad(d_seq, *d_final):
            d_final = tuple(tf.zeros_like(s) if d is None else d
                            for d, s in zip(d_final, final))
            backward = _compiled("backward", _backward, math, need_dx)
            dx, d_kernel, d_rkernel, d_bias, d_init = backward(
                x, kernel, rkernel, bias, mask, init, seqs, extras, d_seq, d_final)
            return (dx, d_kernel, d_rkernel, d_bias, *d_init)

        return (seqs[0], *final), grad

    h_seq, *final = fused(x, kernel, rkernel, bias, *init)
    return h_seq, tuple(final)


# --------------------------------------------------------------------------------------------
# The layers.


class _FusedRNNMixin:
    """Replaces `inner_loop` of `keras.layers.LSTM`/`GRU` by the fused loop where it applies."""

    _cell_name = None

    def fast_path_reason(self):
        """Why this layer falls back to Keras's loop, or `None` if it runs the fused one."""
        return fast_path_reason(self)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if fast_path_reason(self) is not None:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        import tensorflow as tf

        if keras.tree.is_nested(mask):
            mask = mask[0]
        init = list(initial_state) if keras.tree.is_nested(initial_state) else [initial_state]
        cell = self.cell
        # Input dropout as in the parent's cuDNN branch: one mask for every time step.
        if training and cell.dropout:
            sequences = sequences * tf.expand_dims(cell.get_dropout_mask(sequences[:, 0, :]), 1)
        x = tf.transpose(sequences, [1, 0, 2])
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
            if mask.shape.rank == 3:
                mask = mask[..., 0]
            mask = tf.transpose(mask)[..., None]  # (T, B, 1)
        if self.go_backwards:  # Keras returns the outputs in the reversed (iteration) order
            x = tf.reverse(x, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        weights = [tf.convert_to_tensor(w.value) for w in
                   (cell.kernel, cell.recurrent_kernel, cell.bias)]
        h_seq, final = _fused_rnn(self._cell_name, x, *weights, mask, init,
                                  need_seq=self.return_sequences)
        # Outputs follow `backend.rnn`: a masked step repeats the previous output (zeros before
        # the first unmasked step), or outputs zeros under `zero_output_for_mask`.
        keep = None
        if mask is not None:
            keep = mask if self.zero_output_for_mask else tf.math.cumsum(
                tf.cast(mask, tf.int32), axis=0) > 0
        if self.return_sequences:
            if keep is not None:
                h_seq = tf.where(keep, h_seq, tf.zeros_like(h_seq))
            outputs = tf.transpose(h_seq, [1, 0, 2])
            last_output = outputs[:, -1]
        else:
            last_output = final[0]
            if keep is not None:
                last_output = tf.where(keep[-1], last_output, tf.zeros_like(last_output))
            outputs = last_output[:, None]
        return last_output, outputs, list(final)


def with_keras_layers(model):
    """`model` with `keras.layers.LSTM`/`GRU` in place of every `FastLSTM`/`FastGRU` (also
    inside wrappers such as `Bidirectional`) and the same weights; `model` itself when it has
    none. For graph converters that know Keras's own loop: the TFLite converter turns it into
    builtin ops, while the fused loop's TensorLists would need Select TensorFlow ops.

    Example:
    >>> plain = with_keras_layers(model)   # same outputs, Keras's layers
    """
    swapped = []

    def swap(node):
        if isinstance(node, list):
            return [swap(item) for item in node]
        if not isinstance(node, dict):
            return node
        name = node.get("registered_name")
        if name in ("model_zoo>FastLSTM", "model_zoo>FastGRU"):
            swapped.append(name)
            node = {**node, "module": "keras.layers", "class_name": name.split(">Fast")[1],
                    "registered_name": None}
        return {key: swap(value) for key, value in node.items()}

    config = swap(keras.saving.serialize_keras_object(model))
    if not swapped:
        return model
    plain = keras.saving.deserialize_keras_object(config)
    plain.set_weights(model.get_weights())
    return plain


@keras.saving.register_keras_serializable(package="model_zoo")
class FastLSTM(_FusedRNNMixin, keras.layers.LSTM):
    """`keras.layers.LSTM` with a fused, XLA-compiled loop and hand-written gradient on CPU.

    Same arguments, weights (`cell.kernel`, `cell.recurrent_kernel`, `cell.bias`, gates
    i, f, c, o) and config as `keras.layers.LSTM`. On TensorFlow without a GPU, with tanh and
    sigmoid activations, a bias, no recurrent dropout and no unrolling, it runs the fused loop
    (masks, `go_backwards`, states, `stateful` and input dropout included); everywhere else it
    runs `keras.layers.LSTM`'s own code. `fast_path_reason(layer)` says which.

    Args:
        units: size of the hidden and cell states.
        **kwargs: any argument of `keras.layers.LSTM`.

    Example:
    >>> layer = FastLSTM(16, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 16)
    """

    _cell_name = "lstm"


@keras.saving.register_keras_serializable(package="model_zoo")
class FastGRU(_FusedRNNMixin, keras.layers.GRU):
    """`keras.layers.GRU` with a fused, XLA-compiled loop and hand-written gradient on CPU.

    Same arguments, weights (gates z, r, h; with `reset_after=True` a bias of shape (2, 3H))
    and config as `keras.layers.GRU`. The fused loop runs on TensorFlow without a GPU, with tanh
    and sigmoid activations, a bias, `reset_after=True`, no recurrent dropout and no unrolling;
    everywhere else `keras.layers.GRU`'s own code runs. `fast_path_reason(layer)` says which.

    Args:
        units: size of the hidden state.
        **kwargs: any argument of `keras.layers.GRU`.

    Example:
    >>> layer = FastGRU(16, go_backwards=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 16)
    """

    _cell_name = "gru"
