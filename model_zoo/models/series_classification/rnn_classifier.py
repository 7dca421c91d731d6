"""The bidirectional recurrent series classifier.

    x (time, channels), standardised per channel, right-padded with PAD_VALUE
      -> Masking                      padded steps are skipped; right padding keeps the
                                      recurrent layers on cuDNN on TensorFlow
      -> [GaussianNoise]              training-time jitter (a regulariser for small sets)
      -> Bidirectional LSTM/GRU stack (model_zoo.layers.rnn_stack), every step returned
      -> GlobalAveragePooling1D       the mean over the real (unmasked) steps
      -> Dropout -> Dense(classes)    the head (named "head": fine-tuning replaces it)

Only stock Keras layers, so the saved model loads with safe_mode under TF, JAX and torch.
"""

import keras

from model_zoo.layers import rnn_stack
from model_zoo.models.copying import copy_model


def build_rnn_classifier(channels, classes, cell="gru", units=64, depth=2, dropout=0.2,
                         head_dropout=0.3, noise=0.0, pad_value=-1000.0,
                         name="rnn_classifier"):
    """Builds the classifier. Input `(batch, time, channels)`, output class probabilities.

    Args:
        channels: number of input channels.
        classes: number of classes.
        cell, units, depth, dropout: the bidirectional recurrent stack (see `rnn_stack`).
        head_dropout: dropout before the head.
        noise: std of the Gaussian jitter added to the (standardised) input while training.
        pad_value: the value of padded time steps, masked out.

    Example:
    >>> model = build_rnn_classifier(channels=12, classes=9, units=16, depth=1)
    >>> model.output_shape
    (None, 9)
    """
    inputs = keras.Input((None, channels), name="series")
    x = keras.layers.Masking(mask_value=pad_value, name="mask")(inputs)
    if noise:
        x = keras.layers.GaussianNoise(noise, name="jitter")(x)
    h = rnn_stack(x, cell=cell, units=units, depth=depth, bidirectional=True, dropout=dropout,
                  return_sequences=True, name="encoder")
    h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
    if head_dropout:
        h = keras.layers.Dropout(head_dropout, name="head_dropout")(h)
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(h)
    return keras.Model(inputs, outputs, name=name)


def replace_head(model, classes, seed=0):
    """A copy of `model` (weights copied, not shared) whose head predicts `classes` classes.

    The new head is freshly initialised; every other layer keeps its trained weights.
    """
    clone = copy_model(model)
    features = clone.get_layer("head").input
    outputs = keras.layers.Dense(
        classes, activation="softmax", name="head",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(features)
    return keras.Model(clone.input, outputs, name=model.name)


def with_input_channels(model, channels):
    """A copy of `model` that reads series of `channels` channels (another sensor set).

    The input kernels of the first recurrent layer (its weights whose shape depends on the
    channels) are new, drawn from their initializer; its recurrent kernels and biases, and every
    other layer, keep their trained weights (copied, not shared).

    Example:
    >>> model = build_rnn_classifier(12, 3, units=8, depth=1)
    >>> with_input_channels(model, 6).input_shape
    (None, None, 6)
    """
    def unbuilt(config):  # A wrapper's config holds its inner layer's build shapes: drop them.
        if isinstance(config, dict):
            return {k: unbuilt(v) for k, v in config.items() if k != "build_config"}
        return config

    from model_zoo.models.blending import network_of

    model = network_of(model)  # a blended model's 1-NN holds series of the old channels
    inputs = keras.Input((None, int(channels)), name=model.inputs[0].name)
    new = keras.models.clone_model(
        model, input_tensors=inputs,
        clone_function=lambda layer: layer.__class__.from_config(unbuilt(layer.get_config())))
    for old_layer, new_layer in zip(model.layers, new.layers):
        new_weights = new_layer.get_weights()
        new_layer.set_weights([old if old.shape == fresh.shape else fresh
                               for old, fresh in zip(old_layer.get_weights(), new_weights)])
    return new
