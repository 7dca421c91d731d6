"""The LSTM autoencoder anomaly detector (Malhotra et al., 2016).

    x (window, 1), standardised with the training part's mean and std
      -> LSTM/GRU encoder stack       the last state summarises the window
      -> Dense(latent)                the bottleneck
      -> RepeatVector(window)
      -> LSTM/GRU decoder stack       every step returned
      -> Dense(1)                     the reconstruction

Trained on anomaly-free windows only, it reconstructs normal shapes well and anomalies badly:
the squared reconstruction error is the anomaly score. No masking (windows have a fixed
length), so every recurrent layer is cuDNN-eligible on every backend.
"""

import keras

from model_zoo.layers import rnn_stack


def build_lstm_autoencoder(window, cell="lstm", units=32, depth=1, latent=16, dropout=0.0,
                           name="lstm_autoencoder"):
    """Builds the autoencoder. Input and output `(batch, window, 1)`.

    Args:
        window: number of values per window.
        cell, units, depth, dropout: the encoder and decoder stacks (see `rnn_stack`).
        latent: size of the bottleneck.

    Example:
    >>> model = build_lstm_autoencoder(window=32, units=8, latent=4)
    >>> model.output_shape
    (None, 32, 1)
    """
    inputs = keras.Input((window, 1), name="window")
    h = rnn_stack(inputs, cell=cell, units=units, depth=depth, dropout=dropout, name="encoder")
    z = keras.layers.Dense(latent, activation="tanh", name="bottleneck")(h)
    h = keras.layers.RepeatVector(window, name="repeat")(z)
    h = rnn_stack(h, cell=cell, units=units, depth=depth, dropout=dropout,
                  return_sequences=True, name="decoder")
    outputs = keras.layers.Dense(1, name="reconstruction")(h)
    return keras.Model(inputs, outputs, name=name)
