"""What the text tokenizers share: standardisation, padding, saving inside a checkpoint.

A tokenizer turns raw strings into right-padded id matrices (0 is padding), so that an
`Embedding(mask_zero=True)` gives right-padded masks and the recurrent layers keep the cuDNN
path. Its settings are JSON (`get_config()`, stored in the checkpoint's preprocessing.json) and
its vocabulary an asset file, so `model_zoo.load(name)` rebuilds it and takes raw strings.

The work is done with TensorFlow Text ops (an input pipeline, not model code), so it runs under
every Keras backend.
"""

from model_zoo.errors import InputError

TRUNCATIONS = ("head", "tail", "head_tail")


def _tf():
    import tensorflow as tf

    return tf


class TextTokenizer:
    """Base class of the text tokenizers.

    Args:
        vocabulary: list of tokens; index 0 is padding, index 1 the unknown token.
        normalization: Unicode normalisation form applied first (`"NFKC"`, `"NFC"`, or None).
        strip_html: replace HTML tags such as `<br />` by a space (IMDB reviews hold them).
    """

    kind = None
    pad_id = 0
    unknown_id = 1

    def __init__(self, vocabulary, normalization="NFKC", strip_html=False):
        vocabulary = list(vocabulary)
        if len(vocabulary) < 3:
            raise InputError(f"A vocabulary needs padding, unknown and at least one token. "
                             f"Received: {len(vocabulary)} entries")
        self.vocabulary = vocabulary
        self.normalization = normalization
        self.strip_html = bool(strip_html)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    # -- strings to ids --------------------------------------------------------------------

    def standardize(self, strings):
        """Unicode normalisation (and HTML tag removal) of a string tensor."""
        import tensorflow_text as tf_text

        tf = _tf()
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if self.normalization:
            strings = tf_text.normalize_utf8(strings, self.normalization)
        if self.strip_html:
            strings = tf.strings.regex_replace(strings, r"<[^>]{0,40}>", " ")
        return strings

    def tokenize(self, strings):
        """A `tf.RaggedTensor` of int32 token ids, one row per string (no padding)."""
        raise NotImplementedError

    def resources(self):
        """The TensorFlow objects `tokenize` uses (lookup tables, tf-text tokenizers), created
        now if not yet: a saved graph that tokenizes must track them (`model_zoo.export`)."""
        return []

    def encode(self, strings, max_length=None, truncation="head", empty_id=None):
        """Token ids of `strings` as a `tf.RaggedTensor`, in TensorFlow ops only (so an
        exported graph runs this very code).

        Args:
            strings: a string tensor or a list of strings.
            max_length, truncation: see `__call__`.
            empty_id: the row a string without tokens gets, `[empty_id]` (a classifier
                reads at least one token); None keeps it empty.
        """
        ragged = truncate(self.tokenize(strings), max_length, truncation)
        if empty_id is None:
            return ragged
        tf = _tf()
        empty = tf.cast(ragged.row_lengths() == 0, ragged.row_splits.dtype)
        fill = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(empty)], tf.constant(empty_id, ragged.dtype)), empty)
        return tf.concat([ragged, fill], axis=1)

    def __call__(self, texts, max_length=None, truncation="head", pad_to=None):
        """Token ids of `texts` as a right-padded int32 NumPy matrix.

        Args:
            texts: a list of strings.
            max_length: keep at most this many tokens per text.
            truncation: which tokens a long text keeps: `"head"` (the first), `"tail"` (the
                last) or `"head_tail"` (a quarter from the start, the rest from the end).
            pad_to: pad to this width (default: the longest row).
        """
        ragged = self.encode(list(texts), max_length, truncation)
        width = pad_to or max(int(ragged.bounding_shape()[1]), 1)
        return ragged.to_tensor(default_value=self.pad_id, shape=[None, width]).numpy()

    # -- ids to strings --------------------------------------------------------------------

    def id_to_token(self, ids):
        return [self.vocabulary[i] for i in ids]

    def detokenize(self, ids):
        raise NotImplementedError

    # -- saving --------------------------------------------------------------------------------

    def get_config(self):
        return {"type": self.kind, "normalization": self.normalization,
                "strip_html": self.strip_html}

    def assets(self):
        return {}


def truncate(ragged, max_length, truncation="head", head=None):
    """Keeps at most `max_length` items of each row of a ragged tensor (see `TextTokenizer`);
    with `"head_tail"`, `head` of them from the start (default: a quarter)."""
    if truncation not in TRUNCATIONS:
        raise InputError(f"`truncation` must be one of {TRUNCATIONS}. Received: {truncation!r}")
    if not max_length:
        return ragged
    tf = _tf()
    if truncation == "head":
        return ragged[:, :max_length]
    if head is None:
        head = 0 if truncation == "tail" else max_length // 4
    tail = max_length - head
    lengths = ragged.row_lengths()
    positions = tf.ragged.range(lengths)
    keep = (positions < head) | (positions >= tf.expand_dims(lengths - tail, 1))
    return tf.ragged.boolean_mask(ragged, keep)
