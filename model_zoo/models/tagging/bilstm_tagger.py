"""The BiLSTM(-CRF) sequence tagger (Lample et al., 2016; Ma & Hovy, 2016).

    words (batch, time)            word ids, 0 pads (right-padded: the cuDNN path needs it)
      -> Embedding(mask_zero)      lowercased words; rare words share the unknown id 1
    chars (batch, time, W)         character ids of each token as written, with boundary marks
      -> Embedding -> Conv2D(1 x k) -> max over characters     the char CNN: spelling, case,
                                   prefixes and suffixes, for words the vocabulary lacks
    [words ; chars] -> Dropout -> stacked BiLSTM (cuDNN-eligible) -> Dropout
      -> Dense(num_tags) "emissions"
      -> CRF "crf" (Viterbi tag ids, (batch, time))  or  softmax "tag_probs" (batch, time, tags)

Training uses `training_model(model)`, which shares every layer with `model` and outputs each
sentence's negative log-likelihood (the CRF's, or the per-token softmax cross-entropy summed);
`TokenMeanLoss` divides the batch's sum by its number of tokens. Only the inference model is
saved, so a checkpoint holds no training-only layer.
"""

import keras
from keras import ops

from model_zoo.layers import rnn_stack
from model_zoo.layers.crf import CRF
from model_zoo.models.copying import copy_model


@keras.saving.register_keras_serializable(package="model_zoo")
class TokenNLL(keras.layers.Layer):
    """Summed softmax cross-entropy of the gold tags per sequence, over unmasked steps.

    Called on `[emissions (batch, time, tags), tags (batch, time)]`; returns `(batch,)`.

    Example:
    >>> nll = TokenNLL()([keras.ops.zeros((1, 3, 4)), keras.ops.zeros((1, 3), "int32")])
    >>> round(float(nll[0]), 4)  # 3 steps, 4 equally likely tags: 3 log 4
    4.1589
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        emissions, tags = inputs
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        log_probs = ops.log_softmax(ops.cast(emissions, "float32"), axis=-1)
        gold = ops.take_along_axis(log_probs, ops.cast(tags, "int32")[:, :, None], axis=2)
        gold = gold[:, :, 0]
        if mask is not None:
            gold = gold * ops.cast(mask, "float32")
        return -ops.sum(gold, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)


class TokenMeanLoss(keras.losses.Loss):
    """The batch's summed sequence losses (`y_pred`) over its number of tokens (`y_true`).

    The training pipeline gives each sentence's length as `y_true`, so the loss is a mean per
    token, whatever the sentence lengths.
    """

    def __init__(self, name="token_mean_nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        total = ops.sum(ops.cast(y_true, "float32"))
        # A scalar: Keras' "sum_over_batch_size" reduction leaves it as it is.
        return ops.sum(y_pred) / ops.maximum(total, 1.0)


def build_bilstm_tagger(num_words, num_chars, num_tags, *, max_word_chars=16, word_dim=64,
                        char_dim=24, char_filters=48, char_kernel=3, cell="lstm", units=64,
                        depth=2, dropout=0.3, crf=True, name="bilstm_tagger"):
    """Builds the tagger (inference model).

    Args:
        num_words: word vocabulary size, pad and unknown ids included.
        num_chars: character vocabulary size, pad/unknown/boundary ids included.
        num_tags: number of output tags.
        max_word_chars: characters per token (the `chars` input's last axis).
        word_dim: word embedding size.
        char_dim, char_filters, char_kernel: the char CNN (0 filters: no char features).
        cell, units, depth: the bidirectional recurrent stack (`units` per direction).
        dropout: dropout on the embeddings, between recurrent layers and before the head.
        crf: a linear-chain CRF output layer (Viterbi decoding) instead of a softmax.

    Returns:
        A `keras.Model` with inputs `{"words": (batch, time), "chars": (batch, time, W)}`.

    Example:
    >>> model = build_bilstm_tagger(1000, 60, 12, units=16, depth=1)
    >>> model.output_shape
    (None, None)
    """
    words = keras.Input((None,), dtype="int32", name="words")
    chars = keras.Input((None, max_word_chars), dtype="int32", name="chars")
    x = keras.layers.Embedding(num_words, word_dim, mask_zero=True,
                               name="word_embedding")(words)
    if char_filters:
        c = keras.layers.Embedding(num_chars, char_dim, name="char_embedding")(chars)
        c = keras.layers.Conv2D(char_filters, (1, char_kernel), padding="same",
                                activation="tanh", name="char_conv")(c)
        c = keras.layers.MaxPooling2D((1, max_word_chars), name="char_pool")(c)
        c = keras.layers.Reshape((-1, char_filters), name="char_features")(c)
        x = keras.layers.Concatenate(name="token_features")([x, c])
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = rnn_stack(x, cell=cell, units=units, depth=depth, bidirectional=True, dropout=dropout,
                  return_sequences=True, name="encoder")
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = _head(x, num_tags, crf)
    return keras.Model({"words": words, "chars": chars}, outputs, name=name)


def _head(features, num_tags, crf):
    emissions = keras.layers.Dense(num_tags, name="emissions")(features)
    if crf:
        return CRF(num_tags, name="crf")(emissions)
    return keras.layers.Activation("softmax", name="tag_probs")(emissions)


def has_crf(model):
    return any(isinstance(layer, CRF) for layer in model.layers)


def training_model(model):
    """A model sharing `model`'s layers: inputs `{"words", "chars", "tags"}`, output each
    sentence's negative log-likelihood `(batch,)` (train it with `TokenMeanLoss`)."""
    tags = keras.Input((None,), dtype="int32", name="tags")
    emissions = model.get_layer("emissions").output
    inputs = dict(model.input)
    mask = ops.not_equal(inputs["words"], 0)  # Right-padded: word id 0 pads.
    if has_crf(model):
        nll = model.get_layer("crf")([emissions, tags], mask=mask)
    else:
        nll = TokenNLL(name="token_nll")([emissions, tags], mask=mask)
    inputs["tags"] = tags
    return keras.Model(inputs, nll, name=f"{model.name}_training")


def replace_head(model, num_tags, crf=None):
    """A copy of `model` with a new, untrained output head for `num_tags` tags.

    The embeddings, char CNN and recurrent stack keep their trained weights (copied: `model`
    itself is not changed). `crf=None` keeps the kind of head `model` has.
    """
    crf = has_crf(model) if crf is None else crf
    clone = copy_model(model)
    features = clone.get_layer("emissions").input
    return keras.Model(clone.input, _head(features, num_tags, crf), name=model.name)
