"""The acoustic model: a 2-D convolutional front end that subsamples time, a stack of
bidirectional GRU or LSTM layers (cuDNN-eligible), and a per-frame softmax over characters
trained with CTC (Deep Speech 2's shape, small enough for a CPU).

    features (batch, frames, mels)
      -> Conv2D 11x7, stride (s1, 2) -> BatchNorm -> ReLU
      -> Conv2D 11x5, stride (s2, 2) -> BatchNorm -> ReLU       time / subsample, mels / 4
      -> BiGRU/BiLSTM x depth (dropout between)
      -> Dense(alphabet size): CTC logits, index 0 = blank
"""

import keras

from model_zoo.layers import rnn_stack

SUBSAMPLING = {2: (2, 1), 3: (3, 1), 4: (2, 2)}


def output_frames(frames, subsample):
    """Number of output steps for `frames` input frames ("same" padding: ceil per stride)."""
    for stride in SUBSAMPLING[subsample]:
        frames = -(-frames // stride)
    return frames


def build_ctc_recognizer(num_mel_bins=40, alphabet_size=29, conv_channels=32, subsample=3,
                         cell="gru", units=160, depth=2, dropout=0.1, name="ctc_recognizer"):
    """Builds the CTC acoustic model (a functional Keras model returning logits).

    Args:
        num_mel_bins: feature size of the input frames.
        alphabet_size: outputs per step: the characters plus the CTC blank (index 0).
        conv_channels: channels of both convolutions.
        subsample: time subsampling of the front end, 2, 3 or 4 (output steps per
            100 input frames: 50, 33 or 25).
        cell: `"gru"` or `"lstm"`.
        units: hidden size of each direction.
        depth: number of bidirectional layers.
        dropout: dropout after the front end and between recurrent layers.

    Example:
    >>> model = build_ctc_recognizer(alphabet_size=29, units=32, depth=1)
    >>> model.output_shape
    (None, None, 29)
    """
    if subsample not in SUBSAMPLING:
        raise ValueError(f"`subsample` must be one of {sorted(SUBSAMPLING)}. "
                         f"Received: subsample={subsample!r}")
    s1, s2 = SUBSAMPLING[subsample]
    inputs = keras.Input((None, num_mel_bins), name="features")
    x = keras.layers.Reshape((-1, num_mel_bins, 1), name="add_channel")(inputs)
    x = keras.layers.Conv2D(conv_channels, (11, 7), strides=(s1, 2), padding="same",
                            use_bias=False, name="conv_1")(x)
    x = keras.layers.BatchNormalization(name="conv_1_bn")(x)
    x = keras.layers.ReLU(name="conv_1_relu")(x)
    x = keras.layers.Conv2D(conv_channels, (11, 5), strides=(s2, 2), padding="same",
                            use_bias=False, name="conv_2")(x)
    x = keras.layers.BatchNormalization(name="conv_2_bn")(x)
    x = keras.layers.ReLU(name="conv_2_relu")(x)
    bins = -(-num_mel_bins // 4)  # Two stride-2 "same" convolutions: ceil(ceil(n/2)/2) = ceil(n/4).
    x = keras.layers.Reshape((-1, bins * conv_channels), name="merge_channels")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="frontend_dropout")(x)
    x = rnn_stack(x, cell=cell, units=units, depth=depth, bidirectional=True, dropout=dropout,
                  return_sequences=True, name="encoder")
    if dropout:
        x = keras.layers.Dropout(dropout, name="encoder_dropout")(x)
    logits = keras.layers.Dense(alphabet_size, name="ctc_logits")(x)
    return keras.Model(inputs, logits, name=name)
