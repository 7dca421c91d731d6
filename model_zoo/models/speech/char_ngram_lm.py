"""A character n-gram language model (interpolated Kneser-Ney) for CTC beam search.

Why not a library: KenLM builds its models with `lmplz` (a C++ build with Boost; the PyPI
`kenlm` package only queries), pyctcdecode pins `numpy<2` (TensorFlow 2.21 needs NumPy 2) and
NLTK's `KneserNeyInterpolated` takes about a millisecond per probability, too slow inside a beam
search. Interpolated Kneser-Ney over characters is a few lines of NumPy; the model keeps only
the highest-order counts, from which every lower order is rebuilt, so it saves compactly.

    P(c | h) = max(n(h c) - D, 0) / n(h .) + D * N1+(h .) / n(h .) * P(c | h[1:])

with the raw counts `n` at the highest order, continuation counts (how many different
characters precede `h c`) at the lower ones, one discount `D = n1 / (n1 + 2 n2)` per order,
and the uniform distribution below the unigrams (Chen and Goodman, 1998).
"""

import collections
import gzip
import json

import numpy as np

from model_zoo.errors import InputError

BOS = "^"  # pads the start of every text (never an output)
EOS = "$"  # the end of a text: an output of the model


class CharNgramLM:
    """A character-level n-gram language model with interpolated Kneser-Ney smoothing.

    Args:
        characters: the characters it predicts (a string; the end-of-text symbol is added).
        order: n, the length of the n-grams (the context is the n - 1 characters before).
        counts: `{n-gram: count}` of the highest order, as `fit` collects them.

    Example:
    >>> lm = CharNgramLM.fit(["press one", "press two"], "' abcdefghijklmnopqrstuvwxyz", order=4)
    >>> lm.log_prob("w", "press t") > lm.log_prob("x", "press t")
    True
    """

    def __init__(self, characters, order, counts):
        if order < 1:
            raise InputError(f"`order` must be at least 1. Received: order={order}")
        bad = sorted({c for c in characters if c in (BOS, EOS)})
        if bad:
            raise InputError(f"{BOS!r} and {EOS!r} are reserved for the start and end of a text; "
                             f"the characters may not hold them. Received: {characters!r}")
        self.characters = characters
        self.order = order
        self.counts = dict(counts)
        self.symbols = characters + EOS
        self._index = {c: i for i, c in enumerate(self.symbols)}
        self._build()
        self._cache = {}

    # -- estimation ------------------------------------------------------------------------

    @classmethod
    def fit(cls, texts, characters, order=6):
        """Counts the n-grams of `texts` (each padded with `order - 1` BOS and one EOS)."""
        counts = collections.Counter()
        allowed = set(characters)
        for text in texts:
            unknown = set(text) - allowed
            if unknown:
                raise InputError(f"The text has characters outside the model's "
                                 f"{characters!r}: {sorted(unknown)}. Received: {text!r}")
            padded = BOS * (order - 1) + text + EOS
            counts.update(padded[i:i + order] for i in range(len(padded) - order + 1))
        if not counts:
            raise InputError("A language model needs some text; all texts were empty. "
                             f"Received: {len(texts)} texts")
        return cls(characters, order, counts)

    def _build(self):
        """Per order, `{context: count vector}` (raw at the top, continuation below)."""
        size = len(self.symbols)
        tables = [collections.defaultdict(lambda: np.zeros(size)) for _ in range(self.order)]
        top = tables[self.order - 1]
        for gram, n in self.counts.items():
            top[gram[:-1]][self._index[gram[-1]]] += n
        # Continuation counts: each distinct k-gram (a h c) adds one to (h c) at order k - 1.
        for k in range(self.order - 1, 0, -1):
            lower = tables[k - 1]
            for context, vector in tables[k].items():
                lower[context[1:]] += vector > 0
        self.discounts = []
        self.tables = []
        for table in tables:
            values = np.stack(list(table.values())) if table else np.zeros((1, size))
            n1, n2 = np.sum(values == 1), np.sum(values == 2)
            self.discounts.append(float(n1 / (n1 + 2 * n2)) if n1 + n2 else 0.5)
            self.tables.append(dict(table))

    # -- queries ----------------------------------------------------------------------------

    def distribution(self, context):
        """Log-probabilities of every symbol (characters, then EOS) after `context`."""
        context = (BOS * (self.order - 1) + context)[len(context):] if self.order > 1 else ""
        cached = self._cache.get(context)
        if cached is None:
            cached = np.log(self._probs(context))
            if len(self._cache) > 1_000_000:
                self._cache.clear()
            self._cache[context] = cached
        return cached

    def _probs(self, context):
        size = len(self.symbols)
        probs = np.full(size, 1.0 / size)
        for k in range(len(context) + 1):  # from the unigrams up to the full context
            h = context[len(context) - k:]
            vector = self.tables[k].get(h)
            if vector is None:
                break
            total = vector.sum()
            d = self.discounts[k]
            probs = (np.maximum(vector - d, 0) + d * np.count_nonzero(vector) * probs) / total
        return probs

    def log_prob(self, symbol, context=""):
        """Natural log of P(symbol | the text so far); `symbol` is a character or EOS."""
        return float(self.distribution(context)[self._index[symbol]])

    def nats_per_char(self, texts):
        """Average negative log-likelihood per predicted symbol (EOS included) over `texts`."""
        nats, count = 0.0, 0
        for text in texts:
            for i, c in enumerate(text + EOS):
                nats -= self.log_prob(c, text[:i])
                count += 1
        return nats / max(count, 1)

    # -- saving ----------------------------------------------------------------------------

    def to_bytes(self):
        """Gzipped JSON of the settings and the highest-order counts (deterministic)."""
        payload = {"format": "char_ngram_lm/1", "characters": self.characters,
                   "order": self.order, "counts": dict(sorted(self.counts.items()))}
        return gzip.compress(json.dumps(payload, separators=(",", ":")).encode("utf-8"),
                             mtime=0)

    @classmethod
    def from_bytes(cls, data):
        try:
            payload = json.loads(gzip.decompress(data).decode("utf-8"))
        except (OSError, ValueError, EOFError) as e:
            raise InputError(f"Not a saved character language model (gzipped JSON): {e}. "
                             f"Received: {len(data)} bytes") from None
        if payload.get("format") != "char_ngram_lm/1":
            raise InputError(f"Unknown language model format. Expected 'char_ngram_lm/1'. "
                             f"Received: {payload.get('format')!r}")
        return cls(payload["characters"], payload["order"], payload["counts"])

    def __repr__(self):
        return (f"CharNgramLM(order={self.order}, characters={self.characters!r}, "
                f"ngrams={len(self.counts):,})")

