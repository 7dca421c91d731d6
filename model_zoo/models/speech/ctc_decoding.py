"""CTC decoding: greedy (best path) and beam search through `keras.ops.ctc_decode`, and a
prefix beam search that fuses in a character language model.

Both return, for each utterance, the label ids with repeats merged and blanks (index 0)
removed; `CharAlphabet.decode` turns them into text.
"""

import keras
import numpy as np

from model_zoo.metrics.text import log_softmax


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


def ctc_greedy_frames(logits, steps):
    """Best-path decoding in TensorFlow ops that TFLite's builtins hold, frame by frame.

    The same path as `ctc_greedy_decode` (`tf.nn.ctc_greedy_decoder`, repeats merged, blank
    0 dropped), but as a fixed-shape tensor: each frame holds the label id it emits (its most
    probable class, where that is not the blank nor the previous frame's class) or 0. Dropping
    the zeros of a row gives `ctc_greedy_decode`'s ids; no string or sparse ops are needed, so
    exported graphs (`model_zoo.export.speech_recognition`) and TFLite models can use it.

    Args:
        logits: `(batch, steps, classes)` float tensor; class 0 is the CTC blank.
        steps: `(batch,)` int32 valid steps of each row (the rest is padding, never read).

    Returns:
        `(batch, steps)` int32 tensor of emitted label ids, 0 elsewhere.
    """
    import tensorflow as tf

    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    best = tf.where(tf.sequence_mask(steps, tf.shape(best)[1]), best, 0)
    previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]])  # Before the first frame: a blank.
    return tf.where(tf.not_equal(best, 0) & tf.not_equal(best, previous), best, 0)


def ctc_prefix_beam_search(logits, alphabet, lm=None, alpha=0.5, beta=1.0, beam_width=16,
                           prune=-8.0):
    """CTC prefix beam search of one utterance, with a character language model fused in.

    `keras.ops.ctc_decode` has no hook for a language model, so this is the prefix beam
    search of Hannun et al. (2014, "First-pass large vocabulary continuous speech recognition
    using bi-directional recurrent DNNs"): each prefix keeps the probability of its paths
    ending in a blank and in its last character; a new character multiplies in
    `P_lm(char | prefix) ** alpha`, and every character of a finished hypothesis earns a bonus
    `beta` (in nats) against the language model's preference for short outputs. The end of the
    text is scored by the language model too.

    Args:
        logits: `(steps, classes)` for one utterance; class 0 is the CTC blank, class i the
            i-th character of `alphabet`.
        alphabet: the characters (a string), in output order.
        lm: a `CharNgramLM` over the same characters, or None (then a plain prefix search).
        alpha: weight of the language model's log-probabilities.
        beta: bonus per output character, in nats.
        beam_width: prefixes kept after each step.
        prune: characters whose log-probability at a step is below this are not tried there.

    Returns:
        The label ids (1..len(alphabet)) of the best hypothesis.
    """
    log_probs = log_softmax(np.asarray(logits, dtype="float64"))
    if log_probs.ndim != 2 or log_probs.shape[1] != len(alphabet) + 1:
        raise ValueError(f"`logits` must be (steps, {len(alphabet) + 1}) for an alphabet of "
                         f"{len(alphabet)} characters plus the blank. Received: shape "
                         f"{log_probs.shape}")
    if lm is not None and lm.characters != alphabet:
        raise ValueError(f"The language model's characters differ from the recogniser's "
                         f"alphabet {alphabet!r}. Received: {lm.characters!r}")
    lm_index = [lm.symbols.index(c) for c in alphabet] if lm is not None else None
    neg = -np.inf
    # prefix (a tuple of ids) -> [log P(paths ending in blank), log P(... in the last id), text]
    beams = {(): [0.0, neg, ""]}
    for frame in log_probs:
        candidates = (np.flatnonzero(frame[1:] > prune) + 1).tolist()
        following = {}

        def add(prefix, blank, last, text):
            entry = following.get(prefix)
            if entry is None:
                following[prefix] = [blank, last, text]
            else:
                entry[0] = np.logaddexp(entry[0], blank)
                entry[1] = np.logaddexp(entry[1], last)

        for prefix, (p_blank, p_last, text) in beams.items():
            total = np.logaddexp(p_blank, p_last)
            add(prefix, total + frame[0], neg, text)  # a blank: the prefix stays
            lm_scores = alpha * lm.distribution(text) if lm is not None else None
            for c in candidates:
                p = frame[c]
                if prefix and prefix[-1] == c:
                    add(prefix, neg, p_last + p, text)  # the repeat collapses into the last
                    extend_from = p_blank + p  # a new character needs a blank in between
                else:
                    extend_from = total + p
                if lm_scores is not None:
                    extend_from += lm_scores[lm_index[c - 1]]
                add(prefix + (c,), neg, extend_from, text + alphabet[c - 1])
        ranked = sorted(following.items(),
                        key=lambda kv: np.logaddexp(kv[1][0], kv[1][1]) + beta * len(kv[0]),
                        reverse=True)
        beams = dict(ranked[:beam_width])

    def final(item):
        prefix, (p_blank, p_last, text) = item
        score = np.logaddexp(p_blank, p_last) + beta * len(prefix)
        if lm is not None:
            score += alpha * lm.distribution(text)[-1]  # the end of the text
        return score

    return list(max(beams.items(), key=final)[0])
