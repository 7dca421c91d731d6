"""Attention over an encoder's outputs, for recurrent encoder-decoders.

`LuongAttention` scores with a bilinear form (Luong et al., 2015, "general"); `BahdanauAttention`
with a one-hidden-layer network (Bahdanau et al., 2015, "additive"/"concat"). Both take the
decoder's outputs as queries, so they sit *on top of* the decoder LSTM and leave that LSTM a
plain, cuDNN-eligible layer (attention inside the recurrence, as in Bahdanau's original or with
Luong's input feeding, needs a custom cell that no cuDNN kernel runs).

Both are written with `keras.ops` only, so they run and load on every Keras backend.
"""

import keras
from keras import ops


class _Attention(keras.layers.Layer):
    """Shared plumbing: masking, softmax, context. Subclasses implement `score`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def score(self, query, value):
        raise NotImplementedError

    def call(self, inputs, mask=None, value_mask=None):
        """Returns `[context (batch, T, value_dim), weights (batch, T, S)]`.

        Args:
            inputs: `[query, value]`: `(batch, T, query_dim)` decoder outputs and
                `(batch, S, value_dim)` encoder outputs.
            mask: Keras' masks of `[query, value]`, passed automatically in a functional model.
            value_mask: an explicit `(batch, S)` mask of the encoder positions (wins over `mask`).
        """
        query, value = inputs
        if value_mask is None and isinstance(mask, (list, tuple)) and len(mask) > 1:
            value_mask = mask[1]
        scores = self.score(query, value)  # (batch, T, S)
        if value_mask is not None:
            keep = ops.expand_dims(ops.cast(value_mask, "bool"), 1)
            scores = ops.where(keep, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.matmul(weights, value)
        return [context, weights]

    def compute_mask(self, inputs, mask=None):
        return [None, None]

    def compute_output_shape(self, input_shape):
        query_shape, value_shape = input_shape
        batch, steps = query_shape[0], query_shape[1]
        return [(batch, steps, value_shape[-1]), (batch, steps, value_shape[1])]


@keras.saving.register_keras_serializable(package="model_zoo")
class LuongAttention(_Attention):
    """Multiplicative ("general") attention: `score(h_t, a_s) = h_t . (W a_s)`.

    Args:
        scale: divide the scores by sqrt(query_dim) (helps early training).

    Example:
    >>> q, v = keras.random.normal((2, 3, 8)), keras.random.normal((2, 5, 6))
    >>> context, weights = LuongAttention()([q, v])
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 3, 6), (2, 3, 5))
    """

    def __init__(self, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def build(self, input_shape):
        query_shape, value_shape = input_shape
        self.kernel = self.add_weight(name="kernel", shape=(value_shape[-1], query_shape[-1]),
                                      initializer="glorot_uniform")

    def score(self, query, value):
        keys = ops.matmul(value, self.kernel)  # (batch, S, query_dim)
        scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        if self.scale:
            scores = scores / ops.sqrt(ops.cast(ops.shape(query)[-1], scores.dtype))
        return scores

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="model_zoo")
class BahdanauAttention(_Attention):
    """Additive attention: `score(h_t, a_s) = v . tanh(W_q h_t + W_k a_s)`.

    Args:
        units: size of the hidden layer of the scoring network.

    Example:
    >>> q, v = keras.random.normal((2, 3, 8)), keras.random.normal((2, 5, 6))
    >>> context, weights = BahdanauAttention(16)([q, v])
    >>> tuple(weights.shape)
    (2, 3, 5)
    """

    def __init__(self, units=128, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        query_shape, value_shape = input_shape
        self.query_kernel = self.add_weight(name="query_kernel",
                                            shape=(query_shape[-1], self.units),
                                            initializer="glorot_uniform")
        self.key_kernel = self.add_weight(name="key_kernel", shape=(value_shape[-1], self.units),
                                          initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.v = self.add_weight(name="v", shape=(self.units,), initializer="glorot_uniform")

    def score(self, query, value):
        q = ops.expand_dims(ops.matmul(query, self.query_kernel), 2)  # (batch, T, 1, units)
        k = ops.expand_dims(ops.matmul(value, self.key_kernel), 1)  # (batch, 1, S, units)
        return ops.sum(ops.tanh(q + k + self.bias) * self.v, axis=-1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


ATTENTIONS = {"luong": LuongAttention, "bahdanau": BahdanauAttention}
