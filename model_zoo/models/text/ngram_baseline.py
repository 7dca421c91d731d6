"""Classical n-gram language models over id streams: the baselines of the language models.

They read the same ids as the network (its own tokenizer's stream, `encode_stream`) and score
them the way `LanguageModel.evaluate` does: every id of a held-out stream but the first, each
predicted from the ids before it in that stream. So their nats per char (or token) and the
network's are per the same units, over the same text.

* `baseline_nats`: the baseline a fine-tuned language model is compared with
  (`LanguageModel.comparison_rows`): an interpolated Kneser-Ney character 5-gram
  (`CharNgramLM`, the speech recognizer's language model, reused) for a character model, an
  interpolated Witten-Bell 3-gram for a subword model (whose 8,000-way vocabulary is too large
  for `CharNgramLM`'s dense count vectors).
* `ngram_nats`: the interpolated add-one n-gram the language-model recipe reports (unigram,
  and trigram for characters), kept as it was so that published numbers stay comparable.
"""

import collections
import math

import numpy as np

# Orders of the fine-tuning comparison's baseline. Five characters is the classical strong
# character model (the reference point is a character 5-gram): longer contexts gain
# little on a user's text of a few million characters or less, and it stays bounded, about
# 1 s to fit and 1 s to score per million characters here (2 shared cores, with
# `CharNgramLM`: 0.9 s to fit on 900,000 characters of Shakespeare, 0.9 s to score the next
# 100,000, 1.71 nats/char). Subword tokens are sparser: with the few hundred thousand
# tokens a user has, trigram counts are already mostly ones, and a 4-gram adds almost nothing;
# the Witten-Bell counting is vectorized (NumPy sorts), well under a second per million ids.
CHARACTER_ORDER = 5
TOKEN_ORDER = 3

# Ids become characters of Unicode's private use area for `CharNgramLM` (6,400 of them), so
# that no id collides with its reserved start and end symbols.
_PRIVATE_USE = 0xE000
_PRIVATE_USE_SIZE = 6400


def describe(unit):
    """A few words on the baseline `baseline_nats` fits for `unit` ("char" or "token")."""
    if unit == "char":
        return (f"character {CHARACTER_ORDER}-gram, interpolated Kneser-Ney, fitted on the "
                "text the fine-tune saw")
    return (f"{unit} {TOKEN_ORDER}-gram of the model's tokens, interpolated Witten-Bell, "
            "fitted on the text the fine-tune saw")


def baseline_nats(train, test, unit, vocabulary_size):
    """The classical baseline of a language model: fitted on `train`, scored on `test`.

    Args:
        train: the id stream it is fitted on.
        test: the id stream it is scored on: `test[1:]`, each id after the ids before it in
            `test` (as `LanguageModel.evaluate_ids` scores it).
        unit: `"char"` (a character model: Kneser-Ney `CHARACTER_ORDER`-gram) or `"token"`
            (Witten-Bell `TOKEN_ORDER`-gram).
        vocabulary_size: the number of ids (the model's vocabulary).

    Returns:
        `(nats, count)`: total nats and how many ids were scored (`len(test) - 1`).
    """
    if unit == "char":
        return kneser_ney_char_nats(train, test, CHARACTER_ORDER, vocabulary_size)
    return witten_bell_nats(train, test, TOKEN_ORDER, vocabulary_size)


def kneser_ney_char_nats(train, test, order, vocabulary_size):
    """Total nats of `test[1:]` under an interpolated Kneser-Ney `order`-gram of `train`.

    The model is `CharNgramLM` (see there) over the ids, each id one symbol; `train` is one
    text. Its end-of-text symbol keeps a sliver of probability (seen once), which the test ids
    never use: a negligible handicap of the baseline.
    """
    from model_zoo.models.speech.char_ngram_lm import CharNgramLM

    if vocabulary_size > _PRIVATE_USE_SIZE:
        raise ValueError(f"A character n-gram takes at most {_PRIVATE_USE_SIZE} ids; use "
                         f"`witten_bell_nats`. Received: vocabulary_size={vocabulary_size}")
    symbols = "".join(chr(_PRIVATE_USE + i) for i in range(vocabulary_size))
    train_text = "".join(map(chr, (np.asarray(train, dtype="int64") + _PRIVATE_USE).tolist()))
    test_text = "".join(map(chr, (np.asarray(test, dtype="int64") + _PRIVATE_USE).tolist()))
    lm = CharNgramLM.fit([train_text], symbols, order=order)
    nats = 0.0
    for i in range(1, len(test_text)):
        nats -= lm.log_prob(test_text[i], test_text[max(0, i - order + 1):i])
    return nats, max(len(test_text) - 1, 0)


def _gram_codes(ids, n, base):
    """One integer per n-gram of `ids` (the n-gram starting at each position), base `base`."""
    codes = np.zeros(ids.size - n + 1, dtype="int64")
    for j in range(n):
        codes = codes * base + ids[j:ids.size - n + 1 + j]
    return codes


def witten_bell_nats(train, test, order, vocabulary_size):
    """Total nats of `test[1:]` under an interpolated Witten-Bell `order`-gram of `train`.

        P(w | h) = (n(h w) + T(h) P(w | h')) / (n(h) + T(h))

    with `n` the counts in `train`, `T(h)` the number of different ids seen after `h`, `h'`
    the context `h` without its first id, and the uniform distribution over the vocabulary
    below the unigrams (Witten and Bell, 1991; Chen and Goodman, 1998). A context never seen
    in `train` passes the lower order's probability on. Counted and queried with sorted arrays
    of n-gram codes, so any vocabulary whose `vocabulary_size ** order` fits 62 bits works.

    Returns:
        `(nats, count)`, `count = len(test) - 1`.
    """
    base = int(vocabulary_size)
    if base ** order >= 2 ** 62:
        raise ValueError(f"vocabulary_size ** order must fit 62 bits. Received: "
                         f"vocabulary_size={base}, order={order}")
    train = np.asarray(train, dtype="int64")
    test = np.asarray(test, dtype="int64")
    if train.size and (train.min() < 0 or train.max() >= base) or \
            test.size and (test.min() < 0 or test.max() >= base):
        raise ValueError(f"Ids must be in [0, {base}). Received: ids outside it")
    positions = np.arange(1, test.size)  # the scored ids
    probs = np.full(positions.size, 1.0 / base)
    for n in range(1, order + 1):  # n-grams of n ids: a context of n - 1
        if train.size < n:
            break
        codes, counts = np.unique(_gram_codes(train, n, base), return_counts=True)
        contexts, first = np.unique(codes // base, return_index=True)  # codes are sorted
        totals = np.add.reduceat(counts, first)
        types = np.diff(np.append(first, codes.size))
        usable = positions >= n - 1  # n - 1 ids of context inside `test`
        if not usable.any():
            break
        query = _gram_codes(test, n, base)[positions[usable] - (n - 1)]
        k = np.minimum(np.searchsorted(contexts, query // base), contexts.size - 1)
        seen = contexts[k] == query // base
        g = np.minimum(np.searchsorted(codes, query), codes.size - 1)
        n_hw = np.where(codes[g] == query, counts[g], 0)
        lower = probs[usable]
        probs[usable] = np.where(seen, (n_hw + types[k] * lower) / (totals[k] + types[k]),
                                 lower)
    return float(-np.log(probs).sum()), int(positions.size)


def ngram_nats(train, test, order, vocabulary_size):
    """Interpolated add-one n-gram model (orders 1..order, equal weights): total nats on test.

    The language-model recipe's baseline (`recipes/language_model.py`). Returns
    `(nats, count)` over `test[1:]`.
    """
    counts = [collections.Counter() for _ in range(order + 1)]
    train = train.tolist()
    for n in range(1, order + 1):
        counts[n].update(tuple(train[i:i + n]) for i in range(len(train) - n + 1))
    counts[0][()] = len(train)
    test = test.tolist()
    nats = 0.0
    for i in range(1, len(test)):
        p = 0.0
        for n in range(1, order + 1):
            history = tuple(test[max(0, i - n + 1):i])
            if len(history) < n - 1:
                continue
            numerator = counts[n][history + (test[i],)] + 1
            denominator = counts[len(history)][history] + vocabulary_size
            p += numerator / denominator
        usable = min(order, i + 1)
        nats -= math.log(p / usable)
    return nats, len(test) - 1
