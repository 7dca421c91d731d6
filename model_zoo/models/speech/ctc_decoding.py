"""CTC decoding: greedy (best path) and beam search, through `keras.ops.ctc_decode`.

Both return, for each utterance, the label ids with repeats merged and blanks (index 0)
removed; `CharAlphabet.decode` turns them into text.
"""

import keras
import numpy as np


def _decode(logits, lengths, strategy, beam_width=16):
    logits = np.asarray(logits, dtype="float32")
    if lengths is None:
        lengths = np.full((logits.shape[0],), logits.shape[1], dtype="int32")
    decoded, scores = keras.ops.ctc_decode(
        keras.ops.convert_to_tensor(logits), keras.ops.convert_to_tensor(
            np.asarray(lengths, "int32")), strategy=strategy, beam_width=beam_width,
        top_paths=1, mask_index=0)
    best = keras.ops.convert_to_numpy(decoded)[0]
    return [[int(i) for i in row if i > 0] for row in best]


def ctc_greedy_decode(logits, lengths=None):
    """Best-path decoding of `(batch, steps, classes)` logits; returns lists of label ids."""
    return _decode(logits, lengths, "greedy")


def ctc_beam_search_decode(logits, lengths=None, beam_width=16):
    """Beam-search decoding (`beam_width` prefixes) of `(batch, steps, classes)` logits."""
    return _decode(logits, lengths, "beam_search", beam_width)
