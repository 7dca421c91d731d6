"""Recurrent text classifiers: embedding, (bi)directional LSTM/GRU stack, masked pooling, head.

    token ids (right-padded, 0 = padding)
      -> Embedding(mask_zero=True)      right-padded mask: cuDNN-eligible on TensorFlow
      -> SpatialDropout1D
      -> LSTM/GRU stack                 model_zoo.layers.rnn_stack, every step returned
      -> MaskedPooling                  last valid step / max / mean over the real tokens
      -> Dropout -> Dense(num_classes, softmax)   the "head"

The same builder makes the published from-scratch BiGRU and the ULMFiT classifier, whose
embedding and encoder layers carry the names of the language model's (`embedding`,
`encoder_lstm_0`, ...) so that `transfer_encoder` can copy the pretrained weights over.
"""

import keras
from keras import ops

from model_zoo.layers import rnn_stack

POOLINGS = ("last", "max", "mean")


@keras.saving.register_keras_serializable(package="model_zoo")
class MaskedPooling(keras.layers.Layer):
    """Pools a `(batch, time, features)` sequence over its unmasked steps and concatenates.

    `"last"` is the last unmasked step (masks are right-padded), `"max"` and `"mean"` ignore
    the padding. ULMFiT's "concat pooling" is `("last", "max", "mean")`.

    Args:
        modes: a list of `"last"`, `"max"`, `"mean"`.
    """

    def __init__(self, modes=("max", "mean"), **kwargs):
        super().__init__(**kwargs)
        modes = list(modes)
        if not modes or any(m not in POOLINGS for m in modes):
            raise ValueError(f"`modes` must be a non-empty list of {POOLINGS}. Received: {modes}")
        self.modes = modes
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(x)[:2], dtype="bool")
        weights = ops.cast(ops.expand_dims(mask, -1), x.dtype)
        count = ops.maximum(ops.sum(weights, axis=1), 1.0)
        out = []
        for mode in self.modes:
            if mode == "mean":
                out.append(ops.sum(x * weights, axis=1) / count)
            elif mode == "max":
                out.append(ops.max(ops.where(weights > 0, x, ops.full_like(x, -1e9)), axis=1))
            else:
                last = ops.cast(count[:, 0], "int32") - 1
                out.append(ops.take_along_axis(x, last[:, None, None], axis=1)[:, 0])
        return ops.concatenate(out, axis=-1) if len(out) > 1 else out[0]

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2] * len(self.modes))

    def get_config(self):
        return {**super().get_config(), "modes": self.modes}


def build_text_classifier(vocabulary_size, num_classes, embedding_dim=64, cell="gru", units=64,
                          depth=1, bidirectional=True, dropout=0.3, embedding_dropout=0.1,
                          pooling=("max", "mean"), name="text_classifier"):
    """Builds the classifier. Input: `(batch, time)` int ids; output: class probabilities.

    Args:
        vocabulary_size: rows of the embedding (the tokenizer's vocabulary size).
        num_classes: number of labels (the head's width).
        embedding_dim: width of the token embedding.
        cell, units, depth, bidirectional: the recurrent stack (see `rnn_stack`).
        dropout: dropout between recurrent layers and before the head.
        embedding_dropout: `SpatialDropout1D` rate on the embeddings.
        pooling: `MaskedPooling` modes.

    Example:
    >>> model = build_text_classifier(vocabulary_size=100, num_classes=3, units=8)
    >>> model.output_shape
    (None, 3)
    """
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                               name="embedding")(ids)
    if embedding_dropout:
        x = keras.layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(x)
    x = rnn_stack(x, cell=cell, units=units, depth=depth, bidirectional=bidirectional,
                  dropout=dropout, return_sequences=True, name="encoder")
    x = MaskedPooling(list(pooling), name="pooling")(x)
    return keras.Model(ids, classification_head(x, num_classes, dropout), name=name)


def classification_head(features, num_classes, dropout=0.3):
    """Dropout and the softmax `Dense` layer named `head` (what fine-tuning replaces)."""
    if dropout:
        features = keras.layers.Dropout(dropout, name="head_dropout")(features)
    return keras.layers.Dense(num_classes, activation="softmax", name="head")(features)


def replace_head(model, num_classes, dropout=0.3):
    """A new model sharing `model`'s layers up to the pooled features, with a fresh head."""
    features = model.get_layer("pooling").output
    return keras.Model(model.inputs, classification_head(features, num_classes, dropout),
                       name=model.name)
