"""A SentencePiece subword tokenizer: trained with `sentencepiece`, run with tensorflow-text.

SentencePiece is reversible (a space is the piece "▁"), so a translation detokenizes to exactly
the text the model spelled, which sacreBLEU then scores as it would a human's. The trained model
is a small protobuf that travels in the checkpoint's assets; at load time only tensorflow-text
is needed.
"""

import hashlib
import io

import numpy as np

from model_zoo.errors import InputError
from model_zoo.optional import import_optional

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class SentencePieceTokenizer:
    """Text <-> subword ids. Ids 0-3 are padding, unknown, start and end of sentence.

    Args:
        proto: the serialized SentencePiece model (bytes), as `train` makes it.

    Example:
    >>> tok = SentencePieceTokenizer.train(["a small example", "another example"], 30)
    >>> tok.detokenize(tok.tokenize(["a small example"]))
    ['a small example']
    """

    def __init__(self, proto):
        if not isinstance(proto, (bytes, bytearray)) or not proto:
            raise InputError(
                f"A SentencePiece model is serialized bytes. Received: {type(proto).__name__}"
            )
        self.proto = bytes(proto)
        self._tf_tokenizer = None

    @classmethod
    def train(cls, texts, vocab_size, model_type="unigram", character_coverage=1.0):
        """Trains a model on `texts` (an iterable of strings).

        Needs the `sentencepiece` package (training only; loading needs tensorflow-text).
        """
        spm = import_optional("sentencepiece", "train", "Training a SentencePiece vocabulary")

        texts = [t for t in texts if t.strip()]
        if not texts:
            raise InputError("Training a tokenizer needs at least one non-empty text. Received: 0")
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts), model_writer=buffer, vocab_size=int(vocab_size),
                model_type=model_type, character_coverage=character_coverage,
                pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
                hard_vocab_limit=False, num_threads=1,
                input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
        except RuntimeError as e:  # e.g. fewer pieces than the texts have characters
            characters = len(set("".join(texts)))
            raise InputError(
                f"Cannot train a SentencePiece vocabulary of {int(vocab_size)} pieces on these "
                f"{len(texts)} texts ({characters} distinct characters; a vocabulary needs at "
                f"least one piece per character and 4 special ones): "
                f"{str(e).splitlines()[0][:200]}. Received: vocab_size={vocab_size}") from None
        return cls(buffer.getvalue())

    @property
    def tf_tokenizer(self):
        if self._tf_tokenizer is None:
            import tensorflow_text as tf_text

            # Named after the model: a saved graph holding two (a translator's source and
            # target) must not give them one name, or, loaded again, both run the same model.
            name = "sentencepiece_" + hashlib.sha256(self.proto).hexdigest()[:12]
            self._tf_tokenizer = tf_text.SentencepieceTokenizer(model=self.proto, out_type="int32",
                                                                name=name)
        return self._tf_tokenizer

    def _run(self, op):
        """`op(tf_tokenizer)`, with the TensorFlow op built again if its resource is gone.

        `tf.random.set_seed` (so `keras.utils.set_random_seed`, which every fine-tune calls)
        clears TensorFlow's kernel cache, and with it the resource of a SentencepieceOp built
        before: its next use raises NotFoundError. A new op is built then, once.
        """
        import tensorflow as tf

        try:
            return op(self.tf_tokenizer)
        except tf.errors.NotFoundError:
            self._tf_tokenizer = None
            return op(self.tf_tokenizer)

    @property
    def vocabulary_size(self):
        return int(self._run(lambda tok: tok.vocab_size()))

    def tokenize(self, texts):
        """A list of id lists, one per text (no start/end ids)."""
        ragged = self._run(lambda tok: tok.tokenize(list(texts)))
        return [row.tolist() for row in ragged.numpy()]

    def detokenize(self, ids):
        """Texts from id lists; padding, start and end ids are skipped (a list ends at end)."""
        import tensorflow as tf

        rows = []
        for row in ids:
            row = [int(i) for i in row]
            if EOS_ID in row:
                row = row[:row.index(EOS_ID)]
            rows.append([i for i in row if i > EOS_ID])
        if not rows:
            return []
        flat = np.asarray([i for row in rows for i in row], dtype="int32")
        ragged = tf.RaggedTensor.from_row_lengths(flat, [len(row) for row in rows])
        return [s.decode("utf-8") for s in self._run(lambda tok: tok.detokenize(ragged)).numpy()]

    def pieces(self, ids):
        """The subword strings of `ids` (for plots)."""
        out = self._run(lambda tok: tok.id_to_string(np.asarray(list(ids), dtype="int32")))
        out = out.numpy()
        return [p.decode("utf-8") for p in out]
