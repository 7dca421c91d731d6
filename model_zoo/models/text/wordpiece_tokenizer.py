"""A WordPiece tokenizer learned with TensorFlow Text's own vocabulary tool.

`WordPieceTokenizer.learn(texts, vocabulary_size)` runs
`tensorflow_text.tools.wordpiece_vocab.bert_vocab_from_dataset` on the (training) texts;
tokenizing uses `tensorflow_text.BertTokenizer` with the same pre-tokenisation settings, as the
tool's documentation requires. The vocabulary is saved as `assets/vocab.txt`.
"""

from model_zoo.errors import InputError
from model_zoo.models.text.tokenizer import TextTokenizer, _tf

RESERVED_TOKENS = ["[PAD]", "[UNK]", "[START]", "[END]"]
VOCAB_ASSET = "vocab.txt"


class WordPieceTokenizer(TextTokenizer):
    """Subword tokenizer: Unicode normalisation, lower-casing, BERT word splitting, WordPiece.

    Args:
        vocabulary: tokens, starting with `[PAD]`, `[UNK]`, `[START]`, `[END]`; suffix pieces
            start with `##`.
        lowercase: lower-case and strip accents before splitting (as BERT's uncased models).
        normalization, strip_html: see `TextTokenizer`.

    Example:
    >>> tok = WordPieceTokenizer.learn(["a good film", "a bad film"], vocabulary_size=40)
    >>> tok(["A GOOD film!"]).shape
    (1, 4)
    """

    kind = "wordpiece"

    def __init__(self, vocabulary, lowercase=True, normalization="NFKC", strip_html=False):
        super().__init__(vocabulary, normalization, strip_html)
        if self.vocabulary[:2] != RESERVED_TOKENS[:2]:
            raise InputError(f"A WordPiece vocabulary starts with {RESERVED_TOKENS[:2]}. "
                             f"Received: {self.vocabulary[:4]}")
        self.lowercase = bool(lowercase)
        self._tokenizer = None

    @classmethod
    def learn(cls, texts, vocabulary_size=8000, lowercase=True, normalization="NFKC",
              strip_html=False, batch_size=1000):
        """Learns a vocabulary of at most `vocabulary_size` tokens from `texts`."""
        from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

        tf = _tf()
        probe = cls(RESERVED_TOKENS + ["a"], lowercase, normalization, strip_html)
        dataset = tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size)
        dataset = dataset.map(probe.standardize)
        vocabulary = bert_vocab_from_dataset.bert_vocab_from_dataset(
            dataset, vocab_size=vocabulary_size, reserved_tokens=RESERVED_TOKENS,
            bert_tokenizer_params={"lower_case": lowercase}, learn_params={})
        return cls(vocabulary, lowercase, normalization, strip_html)

    @property
    def start_id(self):
        return self.vocabulary.index("[START]")

    @property
    def end_id(self):
        return self.vocabulary.index("[END]")

    def _bert(self):
        if self._tokenizer is None:
            import tensorflow_text as tf_text

            tf = _tf()
            with tf.init_scope():  # Created eagerly even when first used in a traced graph.
                table = tf.lookup.StaticVocabularyTable(
                    tf.lookup.KeyValueTensorInitializer(
                        tf.constant(self.vocabulary),
                        tf.range(len(self.vocabulary), dtype=tf.int64)),
                    num_oov_buckets=1)
                self._tokenizer = tf_text.BertTokenizer(table, lower_case=self.lowercase,
                                                        unknown_token="[UNK]")
        return self._tokenizer

    def resources(self):
        return [self._bert()]

    def tokenize(self, strings):
        tf = _tf()
        ids = self._bert().tokenize(self.standardize(strings)).merge_dims(-2, -1)
        # The table's out-of-vocabulary bucket (id == size) is not reached with `unknown_token`
        # set; map it to [UNK] all the same, so an id is always a row of the embedding.
        ids = tf.ragged.map_flat_values(
            lambda v: tf.where(v >= len(self.vocabulary), tf.constant(self.unknown_id, v.dtype),
                               v), ids)
        return tf.cast(ids, tf.int32)

    def detokenize(self, ids):
        words = []
        for token in self.id_to_token(int(i) for i in ids if int(i) >= len(RESERVED_TOKENS)):
            if token.startswith("##") and words:
                words[-1] += token[2:]
            else:
                words.append(token)
        return " ".join(words)

    def detokenize_tensor(self, ids):
        """`detokenize` in TensorFlow ops: a `[batch, time]` int tensor to `[batch]` strings
        (reserved ids skipped, words joined by a space, `##` pieces glued to the word before)."""
        tf = _tf()
        ids = tf.convert_to_tensor(ids, tf.int32)
        kept = ids >= len(RESERVED_TOKENS)
        tokens = tf.ragged.boolean_mask(
            tf.gather(tf.constant(self.vocabulary), tf.where(kept, ids, 0)), kept)
        return tf.strings.regex_replace(tf.strings.reduce_join(tokens, axis=-1, separator=" "),
                                        " ##", "")

    def get_config(self):
        return {**super().get_config(), "lowercase": self.lowercase, "vocabulary": VOCAB_ASSET}

    def assets(self):
        return {VOCAB_ASSET: "\n".join(self.vocabulary) + "\n"}

    @classmethod
    def from_config(cls, config, read_asset):
        vocabulary = read_asset(config.get("vocabulary", VOCAB_ASSET)).rstrip("\n").split("\n")
        return cls(vocabulary, lowercase=config.get("lowercase", True),
                   normalization=config.get("normalization", "NFKC"),
                   strip_html=config.get("strip_html", False))
