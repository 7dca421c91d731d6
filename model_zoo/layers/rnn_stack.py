"""Builders of LSTM and GRU stacks that stay on the cuDNN path on every Keras backend.

cuDNN needs, per recurrent layer: tanh activation, sigmoid recurrent activation, a bias, no
recurrent dropout, no unrolling and, for GRU, `reset_after=True`. These builders always use
those settings; regularisation is dropout *between* layers, and masks (where used) must be
right-padded. `model_zoo.cudnn_report(model)` checks any model against the same rules.
"""

import keras

from model_zoo.layers.fast_rnn import FastGRU, FastLSTM
from model_zoo.layers.peephole_lstm import PeepholeLSTMCell

CELLS = ("lstm", "gru", "peephole_lstm")


#: Whether `recurrent_layer` builds `FastLSTM`/`FastGRU` by default. Off: measured on the
#: recipes (benchmarks/recipe_epoch_time.py, this 2-core CPU) the fused loop made an epoch of
#: the character LM (H=128) 1.3-1.6x and of translation (a new batch shape every few batches,
#: each an XLA compilation) up to 6.8x slower than Keras's loop, though it trains 1.05-2.25x
#: faster on the throughput benchmark's fixed shapes (H=256, 512).
FAST_BY_DEFAULT = False


def recurrent_layer(cell, units, *, return_sequences=False, return_state=False,
                    go_backwards=False, name=None, fast=None):
    """One cuDNN-eligible recurrent layer (or a peephole LSTM, which never is).

    With `fast=True`, `"lstm"` and `"gru"` build `FastLSTM`/`FastGRU`: Keras's layers (same
    weights and config) with a fused loop on a TensorFlow CPU and Keras's own code (cuDNN)
    elsewhere; faster to train at fixed shapes with 256+ units, slower at small sizes and
    changing batch shapes (see `FAST_BY_DEFAULT`).

    Args:
        cell: `"lstm"`, `"gru"` or `"peephole_lstm"`.
        units: hidden size.
        return_sequences, return_state, go_backwards: as in `keras.layers.LSTM`.
        name: layer name.
        fast: build the zoo's fused layers (default: `FAST_BY_DEFAULT`).
    """
    common = dict(return_sequences=return_sequences, return_state=return_state,
                  go_backwards=go_backwards, name=name)
    fast = FAST_BY_DEFAULT if fast is None else fast
    lstm, gru = (FastLSTM, FastGRU) if fast else (keras.layers.LSTM, keras.layers.GRU)
    if cell == "lstm":
        return lstm(units, activation="tanh", recurrent_activation="sigmoid",
                    use_bias=True, recurrent_dropout=0.0, unroll=False, **common)
    if cell == "gru":
        return gru(units, activation="tanh", recurrent_activation="sigmoid",
                   use_bias=True, recurrent_dropout=0.0, unroll=False, reset_after=True,
                   **common)
    if cell == "peephole_lstm":
        return keras.layers.RNN(PeepholeLSTMCell(units), **common)
    raise ValueError(f"`cell` must be one of {CELLS}. Received: cell={cell!r}")


def rnn_stack(x, *, cell="lstm", units=64, depth=1, bidirectional=False, dropout=0.0,
              return_sequences=False, name="rnn", fast=None):
    """Applies a stack of recurrent layers to the symbolic tensor `x` (functional API).

    Args:
        x: a `(batch, time, features)` Keras tensor; a mask it carries flows through.
        cell: `"lstm"`, `"gru"` or `"peephole_lstm"`.
        units: hidden size, an int for every layer or a list with one per layer.
        depth: number of layers (ignored when `units` is a list).
        bidirectional: wrap each layer in `keras.layers.Bidirectional` (concatenated).
        dropout: rate of the `Dropout` between consecutive layers.
        return_sequences: whether the last layer returns every time step.
        name: prefix of the layers' names.
        fast: build the zoo's fused layers (see `recurrent_layer`; default `FAST_BY_DEFAULT`).

    Returns:
        The output tensor of the last layer.

    Example:
    >>> inputs = keras.Input((None, 8))
    >>> outputs = rnn_stack(inputs, cell="gru", units=32, depth=2, bidirectional=True)
    >>> keras.Model(inputs, outputs).output_shape
    (None, 64)
    """
    sizes = list(units) if isinstance(units, (list, tuple)) else [units] * depth
    if not sizes or any(not isinstance(u, int) or u < 1 for u in sizes):
        raise ValueError(
            f"`units` must be a positive int or a list of them, and `depth` >= 1. "
            f"Received: units={units!r}, depth={depth!r}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        layer = recurrent_layer(cell, size, return_sequences=return_sequences or not last,
                                name=f"{name}_{cell}_{i}", fast=fast)
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"{name}_bi{cell}_{i}")
        x = layer(x)
        if dropout and not last:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout_{i}")(x)
    return x
