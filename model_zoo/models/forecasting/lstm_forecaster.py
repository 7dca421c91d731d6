"""The stacked-LSTM forecaster: window normalisation, an LSTM/GRU stack, a seasonal-residual head.

    x (lookback values, standardised)
      -> WindowNormalization         per-window mean/std (RevIN; Kim et al., 2022): scale-free,
                                     so trends beyond the training range and other series work
      -> LSTM/GRU stack              cuDNN-eligible (model_zoo.layers.rnn_stack)
      -> Dense(horizon), zero-init   a correction ...
      + SeasonalNaive                ... to the seasonal-naive forecast (with drift for
                                     trending series), so training starts from a classical
                                     forecast instead of from noise
      -> Denormalize                 back to the input's scale

All layers are written with keras.ops, so the saved model loads under TF, JAX and torch.
"""

import keras
from keras import ops

from model_zoo.layers import rnn_stack


@keras.saving.register_keras_serializable(package="model_zoo")
class WindowNormalization(keras.layers.Layer):
    """Standardises each window by its own mean and std; returns `[x_norm, mean, std]`.

    Args:
        epsilon: added to the std, so that flat windows stay finite.
    """

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, x):
        mean = ops.mean(x, axis=1, keepdims=True)
        std = ops.sqrt(ops.var(x, axis=1, keepdims=True)) + self.epsilon
        return [(x - mean) / std, mean, std]

    def compute_output_shape(self, input_shape):
        stat = (input_shape[0], 1, input_shape[2])
        return [tuple(input_shape), stat, stat]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="model_zoo")
class SeasonalNaive(keras.layers.Layer):
    """The seasonal-naive forecast of a `(batch, time, 1)` window: `y[h] = x[T - m + h mod m]`.

    Args:
        season: the season length m (1 gives the naive, last-value forecast).
        horizon: number of steps forecast.
        drift: add the change between the means of the last two seasons (the seasonal random
            walk with drift), for trending series; needs a window of at least `2 * season`.
    """

    def __init__(self, season, horizon, drift=False, **kwargs):
        super().__init__(**kwargs)
        self.season, self.horizon, self.drift = int(season), int(horizon), bool(drift)

    def call(self, x):
        steps = ops.shape(x)[1]
        index = steps - self.season + ops.mod(ops.arange(self.horizon), self.season)
        base = ops.take(x[:, :, 0], index, axis=1)
        if self.drift:
            m = self.season
            last = ops.mean(x[:, -m:, 0], axis=1, keepdims=True)
            previous = ops.mean(x[:, -2 * m:-m, 0], axis=1, keepdims=True)
            base = base + (last - previous)
        return base

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.horizon)

    def get_config(self):
        return {**super().get_config(), "season": self.season, "horizon": self.horizon,
                "drift": self.drift}


@keras.saving.register_keras_serializable(package="model_zoo")
class Denormalize(keras.layers.Layer):
    """Inverse of `WindowNormalization` for a `(batch, horizon)` forecast: `y * std + mean`."""

    def call(self, inputs):
        y, mean, std = inputs
        return y * std[:, :, 0] + mean[:, :, 0]

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])


def build_lstm_forecaster(lookback, horizon, season, cell="lstm", units=64, depth=2,
                          dropout=0.1, bidirectional=False, seasonal_residual=True,
                          drift=False, window_norm=True, conv_stride=1,
                          name="lstm_forecaster"):
    """Builds the forecaster. Input `(batch, lookback, 1)`, output `(batch, horizon)`.

    Args:
        lookback: number of past values the model reads.
        horizon: number of future values it forecasts at once.
        season: season length for the seasonal-naive residual (must be <= lookback).
        cell, units, depth, dropout, bidirectional: the recurrent stack (see `rnn_stack`).
        seasonal_residual: forecast a correction to the seasonal-naive forecast.
        drift: use the seasonal-naive forecast with drift as the base (trending series).
        window_norm: standardise each window by its own statistics (off: the network sees the
            globally standardised values, for series whose absolute level carries information).
        conv_stride: > 1 puts a strided Conv1D in front of the recurrent stack, so that it reads
            `lookback / conv_stride` steps (long windows, e.g. a week of half-hours, train
            several times faster); the seasonal base still reads the full window.

    Example:
    >>> model = build_lstm_forecaster(lookback=36, horizon=12, season=12, units=16)
    >>> model.output_shape
    (None, 12)
    """
    if season * (2 if drift else 1) > lookback:
        raise ValueError(
            f"`lookback` must cover one season ({'two with drift' if drift else 'one'}). "
            f"Received: season={season}, lookback={lookback}, drift={drift}"
        )
    inputs = keras.Input((lookback, 1), name="series")
    if window_norm:
        x, mean, std = WindowNormalization(name="window_norm")(inputs)
    else:
        x = inputs
    h = x
    if conv_stride > 1:
        h = keras.layers.Conv1D(units, conv_stride, strides=conv_stride, activation="tanh",
                                name="subsample")(h)
    h = rnn_stack(h, cell=cell, units=units, depth=depth, bidirectional=bidirectional,
                  dropout=dropout, name="encoder")
    if dropout:
        h = keras.layers.Dropout(dropout, name="head_dropout")(h)
    delta = keras.layers.Dense(horizon, kernel_initializer="zeros", name="head")(h)
    if seasonal_residual:
        delta = keras.layers.Add(name="residual")(
            [SeasonalNaive(season, horizon, drift=drift, name="seasonal_naive")(x), delta]
        )
    outputs = Denormalize(name="denormalize")([delta, mean, std]) if window_norm else delta
    return keras.Model(inputs, outputs, name=name)
