"""A character tokenizer: Unicode normalisation, then one id per code point.

The vocabulary (the characters of the training text) is small, so it is stored in the JSON
config itself; a newline is a character like any other.
"""

import collections

import numpy as np

from model_zoo.models.text.tokenizer import TextTokenizer, _tf

PAD, UNKNOWN = "", "\ufffd"


class CharacterTokenizer(TextTokenizer):
    """One token per Unicode character (after normalisation); unseen characters map to id 1.

    Args:
        vocabulary: `["", "\\ufffd", c1, c2, ...]`: padding, unknown, then single characters.
        normalization, strip_html: see `TextTokenizer`.

    Example:
    >>> tok = CharacterTokenizer.learn(["To be, or not to be"])
    >>> tok.detokenize(tok(["be"])[0])
    'be'
    """

    kind = "character"

    def __init__(self, vocabulary, normalization="NFKC", strip_html=False):
        super().__init__(vocabulary, normalization, strip_html)
        if any(len(c) != 1 for c in self.vocabulary[2:]):
            raise ValueError(f"Character vocabularies hold single characters. Received: "
                             f"{[c for c in self.vocabulary[2:] if len(c) != 1][:5]}")
        self._index = {c: k for k, c in enumerate(self.vocabulary) if k >= 2}
        self._table = None

    @classmethod
    def learn(cls, texts, min_count=1, normalization="NFKC", strip_html=False):
        """The characters of `texts` seen at least `min_count` times, most frequent first."""
        from model_zoo.data.text import normalize_text

        counts = collections.Counter()
        for text in texts:
            counts.update(normalize_text(text, normalization) if normalization else text)
        chars = sorted((c for c, n in counts.items() if n >= min_count),
                       key=lambda c: (-counts[c], c))
        return cls([PAD, UNKNOWN] + chars, normalization, strip_html)

    def _lookup(self):
        if self._table is None:
            tf = _tf()
            with tf.init_scope():  # Created eagerly even when first used in a traced graph.
                keys = tf.constant([ord(c) for c in self.vocabulary[2:]], dtype=tf.int64)
                values = tf.range(2, len(self.vocabulary), dtype=tf.int64)
                self._table = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(keys, values),
                    default_value=self.unknown_id)
        return self._table

    def resources(self):
        return [self._lookup()]

    def tokenize(self, strings):
        tf = _tf()
        codepoints = tf.strings.unicode_decode(self.standardize(strings), "UTF-8",
                                               errors="replace")
        ids = tf.ragged.map_flat_values(
            lambda cp: self._lookup().lookup(tf.cast(cp, tf.int64)), codepoints)
        return tf.cast(ids, tf.int32)

    def encode_text(self, text):
        """Ids of one (already normalised) long text, as a NumPy array, in pure Python."""
        index, unknown = self._index, self.unknown_id
        return np.fromiter((index.get(c, unknown) for c in text), dtype="int32",
                           count=len(text))

    def detokenize(self, ids):
        return "".join(self.vocabulary[int(i)] for i in ids if int(i) >= 2)

    def detokenize_tensor(self, ids):
        """`detokenize` in TensorFlow ops: a `[batch, time]` int tensor to `[batch]` strings
        (padding and the unknown character are skipped, as there)."""
        tf = _tf()
        ids = tf.convert_to_tensor(ids, tf.int32)
        tokens = tf.gather(tf.constant(self.vocabulary), tf.maximum(ids, 0))
        return tf.strings.reduce_join(tf.where(ids >= 2, tokens, ""), axis=-1)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary}

    @classmethod
    def from_config(cls, config, read_asset=None):
        return cls(config["vocabulary"], normalization=config.get("normalization", "NFKC"),
                   strip_html=config.get("strip_html", False))
