"""A linear-chain conditional random field (CRF) written with keras.ops.

Keras 3 has no CRF layer and tensorflow-addons (which had one) is no longer maintained, so this
one is hand-written: the forward algorithm for the log-partition function, the score of a tag
sequence, and Viterbi decoding, each a `keras.ops.scan` over time, so it runs (and its saved
models load) on TensorFlow, JAX and torch. Masks must be right-padded (as the zoo's cuDNN
recurrent layers need anyway): a padded step carries the state through unchanged.

The score of tags y_1..y_T given emission potentials P (batch, time, tags) is

    s(y) = start[y_1] + sum_t P[t, y_t] + sum_{t>1} transitions[y_{t-1}, y_t] + end[y_T]

and p(y | x) = exp(s(y)) / Z with log Z = logsumexp over all tag sequences. The tests check
log Z and the Viterbi path against brute-force enumeration of every sequence on tiny cases.
"""

import keras
from keras import ops


def _time_major(x):
    return ops.moveaxis(x, 1, 0)


def _step_mask(mask, potentials):
    if mask is None:
        return ops.ones(ops.shape(potentials)[:2], dtype="bool")
    return ops.cast(mask, "bool")


def _scan_inputs(potentials, steps):
    """Steps 2..T, time-major, as ONE tensor `[potentials, on]` (batch, tags + 1), then one
    padded step (`on` false: it changes nothing, and `decode` drops its tag).

    One tensor, not a tuple: Keras 3.15's TensorFlow `scan` fails on several inputs whose
    time length is unknown when the graph is traced. The padded step keeps the scan from
    being empty for one-step sequences (a batch of one-word sentences), where TensorFlow's
    `scan` cannot stack zero outputs of an unknown shape.
    """
    both = ops.concatenate([potentials, ops.cast(steps, potentials.dtype)[:, :, None]], axis=2)
    return ops.concatenate([_time_major(both)[1:], ops.zeros_like(_time_major(both)[:1])],
                           axis=0)


def _unpack(x):
    return x[:, :-1], x[:, -1] > 0.5


def _argmax(x):
    """`ops.argmax(x, axis=1)` (the first of equal maxima) of float scores, without the sign
    bit test by which Keras's TensorFlow argmax puts -0.0 below 0.0: TFLite has no builtin
    for that bitwise op, so the tagger's TFLite export would need TensorFlow's kernels."""
    size = ops.shape(x)[1]
    index = ops.reshape(ops.arange(size, dtype="int32"), (1, size) + (1,) * (len(x.shape) - 2))
    best = ops.max(x, axis=1, keepdims=True)
    return ops.min(ops.where(ops.greater_equal(x, best), index, size), axis=1)


@keras.saving.register_keras_serializable(package="model_zoo")
class CRF(keras.layers.Layer):
    """Linear-chain CRF over per-step tag potentials.

    Called on potentials `(batch, time, num_tags)` it returns the Viterbi tag ids
    `(batch, time)` (int32; padded steps repeat the last real tag). Called on
    `[potentials, tags]` it returns each sequence's negative log-likelihood `(batch,)`, the
    training loss. A Keras mask on the potentials (from `Embedding(mask_zero=True)`) marks the
    real steps; it must be right-padded.

    Args:
        num_tags: number of tags.

    Example:
    >>> crf = CRF(3)
    >>> potentials = keras.random.normal((2, 5, 3))
    >>> tuple(crf(potentials).shape)                                   # best paths
    (2, 5)
    >>> tuple(crf([potentials, keras.ops.zeros((2, 5), "int32")]).shape)  # -log p(tags | x)
    (2,)
    """

    def __init__(self, num_tags, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = int(num_tags)
        self.supports_masking = True

    def build(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(f"CRF({self.num_tags}) needs potentials with {self.num_tags} "
                             f"tags in the last axis. Received: shape={input_shape}")
        k = self.num_tags
        self.transitions = self.add_weight(name="transitions", shape=(k, k),
                                           initializer="zeros")
        self.start_transitions = self.add_weight(name="start_transitions", shape=(k,),
                                                 initializer="zeros")
        self.end_transitions = self.add_weight(name="end_transitions", shape=(k,),
                                               initializer="zeros")

    # -- the three algorithms --------------------------------------------------------------

    def log_partition(self, potentials, mask=None):
        """log Z per sequence, by the forward algorithm: `(batch,)`."""
        potentials = ops.cast(potentials, "float32")
        steps = _step_mask(mask, potentials)
        alpha0 = self.start_transitions[None, :] + potentials[:, 0]
        trans = ops.convert_to_tensor(self.transitions)[None, :, :]

        def step(alpha, inputs):
            emission, on = _unpack(inputs)
            new = ops.logsumexp(alpha[:, :, None] + trans, axis=1) + emission
            alpha = ops.where(on[:, None], new, alpha)
            return alpha, alpha

        alpha, _ = ops.scan(step, alpha0, _scan_inputs(potentials, steps))
        return ops.logsumexp(alpha + self.end_transitions[None, :], axis=1)

    def sequence_score(self, potentials, tags, mask=None):
        """The unnormalised score s(tags) of each sequence: `(batch,)`."""
        potentials = ops.cast(potentials, "float32")
        tags = ops.cast(tags, "int32")
        on = ops.cast(_step_mask(mask, potentials), "float32")
        emitted = ops.take_along_axis(potentials, tags[:, :, None], axis=2)[:, :, 0]
        score = ops.sum(emitted * on, axis=1)
        pair = tags[:, :-1] * self.num_tags + tags[:, 1:]
        moved = ops.take(ops.reshape(self.transitions, (-1,)), pair)
        score = score + ops.sum(moved * on[:, 1:], axis=1)
        score = score + ops.take(self.start_transitions, tags[:, 0])
        last = ops.maximum(ops.cast(ops.sum(on, axis=1), "int32") - 1, 0)
        last_tags = ops.take_along_axis(tags, last[:, None], axis=1)[:, 0]
        return score + ops.take(self.end_transitions, last_tags)

    def negative_log_likelihood(self, potentials, tags, mask=None):
        """-log p(tags | x) per sequence: `(batch,)`."""
        return self.log_partition(potentials, mask) - self.sequence_score(potentials, tags, mask)

    def decode(self, potentials, mask=None):
        """The Viterbi (highest-scoring) tag sequences: int32 `(batch, time)`."""
        potentials = ops.cast(potentials, "float32")
        steps = _step_mask(mask, potentials)
        k = self.num_tags
        delta0 = self.start_transitions[None, :] + potentials[:, 0]
        trans = ops.convert_to_tensor(self.transitions)[None, :, :]
        identity = ops.arange(k, dtype="int32")[None, :]

        def forward(delta, inputs):
            emission, on = _unpack(inputs)
            scores = delta[:, :, None] + trans  # (batch, from, to)
            best_from = _argmax(scores)
            new = ops.max(scores, axis=1) + emission
            delta = ops.where(on[:, None], new, delta)
            # A padded step points every tag at itself, so backtracking passes through it.
            pointers = ops.where(on[:, None], best_from, identity + ops.zeros_like(best_from))
            # Keras' TF scan stacks outputs with the carry's dtype: float32 holds ids exactly.
            return delta, ops.cast(pointers, delta.dtype)

        delta, pointers = ops.scan(forward, delta0, _scan_inputs(potentials, steps))
        pointers = ops.cast(pointers, "int32")
        last = _argmax(delta + self.end_transitions[None, :])

        def backward(tag, pointer):
            previous = ops.take_along_axis(pointer, tag[:, None], axis=1)[:, 0]
            return previous, previous

        _, earlier = ops.scan(backward, last, pointers, reverse=True)
        # `earlier[t]` is the tag at step t (pointers[t] leads from step t+1 back to step t);
        # the last pointers are the padded step's (`_scan_inputs`), whose tag is dropped.
        path = ops.concatenate([earlier, last[None, :]], axis=0)[:-1]
        return ops.cast(_time_major(path), "int32")

    # -- the layer --------------------------------------------------------------------------

    def call(self, inputs, mask=None):
        if isinstance(inputs, (list, tuple)):
            potentials, tags = inputs
            mask = mask[0] if isinstance(mask, (list, tuple)) else mask
            return self.negative_log_likelihood(potentials, tags, mask)
        return self.decode(inputs, mask)

    def compute_mask(self, inputs, mask=None):
        if isinstance(inputs, (list, tuple)):
            return None
        return mask

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            return (input_shape[0][0],)
        return tuple(input_shape[:2])

    def compute_output_spec(self, inputs, mask=None):
        if isinstance(inputs, (list, tuple)):
            return keras.KerasTensor((inputs[0].shape[0],), dtype="float32")
        return keras.KerasTensor(tuple(inputs.shape[:2]), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}
