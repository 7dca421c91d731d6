"""An attentional LSTM encoder-decoder (Luong et al., 2015) for subword translation.

    source ids (batch, S), 0 = padding
      -> Embedding(mask_zero)                 right-padded mask
      -> stacked bidirectional LSTM           encoder outputs a_s (batch, S, 2H), cuDNN-eligible
      -> MaskedMean -> Dense bridges          initial (h, c) of every decoder layer
    target ids shifted right (batch, T), starting with <s> (teacher forcing)
      -> Embedding -> stacked LSTM            decoder outputs h_t (causal: no mask needed)
      -> attention(h_t, a_s)                  Luong (bilinear) or Bahdanau (additive)
      -> Dense on [h_t; c_t]                  the "attentional hidden state" (linear by default)
      -> Dense(vocabulary)                    logits

The decoder's recurrent layers are `keras.layers.LSTM`s (the zoo's `FastLSTM` subclass: a fused
loop on a TensorFlow CPU), so every recurrent layer takes cuDNN on a GPU; at inference `Seq2SeqDecoder` steps the same weights one token at a time through the
layers' cells, carrying (h, c), instead of re-running the prefix.
"""

import warnings

import keras
from keras import ops

from model_zoo.layers import recurrent_layer
from model_zoo.layers.attention import ATTENTIONS
from model_zoo.models.copying import copy_weights

SOURCE, TARGET = "source", "target_in"


@keras.saving.register_keras_serializable(package="model_zoo")
class MaskedMean(keras.layers.Layer):
    """Mean over time of a `(batch, time, features)` tensor, ignoring masked steps."""

    def __call__(self, *args, **kwargs):
        # The layer consumes the mask (Keras passes it because `call` takes one) and, by not
        # declaring `supports_masking`, stops it: the decoder's initial state is not masked, so
        # the decoder LSTMs stay cuDNN-eligible on every backend. Keras warns that the mask is
        # "destroyed"; here that is the point.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not support masking.*")
            return super().__call__(*args, **kwargs)

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="model_zoo")
class LabelSmoothedCrossEntropy(keras.losses.Loss):
    """Token-level cross-entropy from logits with label smoothing, padding (id 0) ignored.

    The mean is over the real target tokens of the batch, so short and long batches weigh each
    token alike.

    Args:
        smoothing: the probability mass spread uniformly over the vocabulary.
    """

    def __init__(self, smoothing=0.1, name="label_smoothed_ce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(y_true, -1), -1), -1)
        uniform = -ops.mean(log_probs, axis=-1)
        loss = (1.0 - self.smoothing) * nll + self.smoothing * uniform
        mask = ops.cast(ops.not_equal(y_true, 0), "float32")
        # Returned per token; the default reduction averages over batch*time, so dividing by
        # the share of real tokens makes it the mean over real tokens.
        return loss * mask / ops.maximum(ops.mean(mask), 1e-9)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def build_lstm_seq2seq(source_vocabulary, target_vocabulary, embedding_dim=256,
                       encoder_units=256, encoder_layers=2, decoder_units=512, decoder_layers=1,
                       attention="luong", dropout=0.2, attentional_activation=None,
                       name="lstm_seq2seq"):
    """Builds the training model `{"source", "target_in"} -> logits (batch, T, vocabulary)`.

    Args:
        source_vocabulary, target_vocabulary: subword vocabulary sizes (id 0 is padding).
        embedding_dim: size of both embeddings.
        encoder_units: units of each direction of each bidirectional encoder layer.
        encoder_layers: number of bidirectional LSTM layers.
        decoder_units: units of each decoder LSTM layer (and of the attentional state).
        decoder_layers: number of decoder LSTM layers.
        attention: `"luong"` or `"bahdanau"`.
        dropout: dropout on embeddings, between layers and before the output layer.
        attentional_activation: activation of the layer that mixes the decoder state and the
            attention context. Luong et al. use `"tanh"`; measured on the Bible data (6,000
            pairs, Adam 3e-3, 250 steps) a tanh layer there left the model predicting the
            most frequent piece (loss 6.02, the unigram plateau, which a 4-epoch full run
            never left), while the linear layer (`None`, default) reached 3.94.

    Example:
    >>> model = build_lstm_seq2seq(100, 120, 16, 16, 1, 32, 1)
    >>> model.output_shape
    (None, None, 120)
    """
    if attention not in ATTENTIONS:
        raise ValueError(f"`attention` must be one of {sorted(ATTENTIONS)}. "
                         f"Received: attention={attention!r}")
    source = keras.Input((None,), dtype="int32", name=SOURCE)
    target = keras.Input((None,), dtype="int32", name=TARGET)

    x = keras.layers.Embedding(source_vocabulary, embedding_dim, mask_zero=True,
                               name="source_embedding")(source)
    x = keras.layers.Dropout(dropout, name="source_embedding_dropout")(x)
    for i in range(encoder_layers):
        x = keras.layers.Bidirectional(
            recurrent_layer("lstm", encoder_units, return_sequences=True,
                            name=f"encoder_lstm_{i}"), name=f"encoder_bilstm_{i}")(x)
        if i < encoder_layers - 1:
            x = keras.layers.Dropout(dropout, name=f"encoder_dropout_{i}")(x)
    encoded = x
    summary = MaskedMean(name="encoder_mean")(encoded)

    y = keras.layers.Embedding(target_vocabulary, embedding_dim, name="target_embedding")(target)
    y = keras.layers.Dropout(dropout, name="target_embedding_dropout")(y)
    for i in range(decoder_layers):
        h0 = keras.layers.Dense(decoder_units, activation="tanh", name=f"bridge_h_{i}")(summary)
        c0 = keras.layers.Dense(decoder_units, name=f"bridge_c_{i}")(summary)
        y = recurrent_layer("lstm", decoder_units, return_sequences=True,
                            name=f"decoder_lstm_{i}")(y, initial_state=[h0, c0])
        if i < decoder_layers - 1:
            y = keras.layers.Dropout(dropout, name=f"decoder_dropout_{i}")(y)
    layer = ATTENTIONS[attention]
    attention_layer = layer(name="attention") if attention == "luong" else layer(
        decoder_units // 2, name="attention")
    context, _ = attention_layer([y, encoded])
    z = keras.layers.Concatenate(name="attention_concat")([y, context])
    z = keras.layers.Dense(decoder_units, activation=attentional_activation,
                           name="attentional")(z)
    z = keras.layers.Dropout(dropout, name="output_dropout")(z)
    logits = keras.layers.Dense(target_vocabulary, name="logits")(z)
    return keras.Model({SOURCE: source, TARGET: target}, logits, name=name)


def decoder_layers_of(model):
    """The decoder LSTM layers of a model `build_lstm_seq2seq` made, bottom first."""
    layers = [layer for layer in model.layers if layer.name.startswith("decoder_lstm_")]
    return sorted(layers, key=lambda layer: int(layer.name.rsplit("_", 1)[1]))


def with_target_vocabulary(model, size):
    """A copy of a `build_lstm_seq2seq` network for another target vocabulary of `size`
    pieces (a new target language): the target embedding and the output layer are new and
    untrained; every other weight (encoder, bridges, decoder LSTMs, attention) is copied.

    Example:
    >>> model = build_lstm_seq2seq(100, 120, 16, 16, 1, 32, 1)
    >>> with_target_vocabulary(model, 80).output_shape
    (None, None, 80)
    """
    resized = {"target_embedding": "input_dim", "logits": "units"}

    def clone(layer):
        config = layer.get_config()
        if layer.name in resized:
            config[resized[layer.name]] = int(size)
        return layer.__class__.from_config(config)

    new = keras.models.clone_model(model, clone_function=clone)
    return copy_weights(model, new, what="the translator", strict=False)
