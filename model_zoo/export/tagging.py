"""Sequence taggers as graphs: a batch of raw sentences -> their tokens and tags.

The SavedModel splits each sentence into tokens with the tagger's regular expression (run by
TensorFlow Text's RE2 `regex_split`, the pattern's Python character classes spelled out so both
engines read it alike), turns Brown's straight and curly double quotes into `` and '' as
`model_zoo.data.tagging.tokenize` does, encodes the words and characters as `TagVocabulary`
does and runs the Keras tagger (its CRF's Viterbi decoding is inside the Keras model).
TFLite's builtin ops do not hold the string ops, so the TFLite model takes the word and
character ids of one sentence and the export writes the word list and the vocabulary's
settings beside it.
"""

import functools
import json

import numpy as np

from model_zoo.data.tagging import (
    BOW,
    EOW,
    OOV,
    PAD,
    TOKEN_PATTERN,
    encode_sentences,
    pad_batch,
)
from model_zoo.errors import InputError
from model_zoo.export.base import ServingGraph, exporter

#: Python's `re` classes (on str patterns: Unicode) as predicates, to spell them out for RE2,
#: whose `\w`, `\d` and `\s` are ASCII only. `re` itself uses these very predicates.
_CLASSES = {"w": lambda c: c.isalnum() or c == "_", "d": str.isdecimal, "s": str.isspace}


@functools.lru_cache(maxsize=None)
def _class_ranges(letter):
    """The code points of Python's `\\<letter>` as RE2 class ranges (`\\x{30}-\\x{39}...`)."""
    test, ranges, start = _CLASSES[letter], [], None
    for code in range(0x110001):
        inside = code < 0x110000 and test(chr(code))
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            ranges.append(f"\\x{{{start:x}}}" if start == code - 1
                          else f"\\x{{{start:x}}}-\\x{{{code - 1:x}}}")
            start = None
    return "".join(ranges)


def re2_pattern(pattern):
    """A Python `re` pattern as an RE2 pattern that matches the same strings.

    Python's Unicode `\\w`, `\\d`, `\\s` (and `\\W`, `\\D`, `\\S` outside brackets) are
    spelled out as code point ranges; the rest of the syntax the zoo's patterns use (groups
    `(?:...)`, classes, quantifiers, alternation) reads the same in RE2.

    Args:
        pattern: a Python regular expression.

    Raises:
        InputError: a construct RE2 reads otherwise (`\\b`, `\\B`, `\\Z`, a negated class
            escape inside brackets).
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i + 1]
            if escape in _CLASSES:
                ranges = _class_ranges(escape)
                out.append(ranges if in_class else f"[{ranges}]")
            elif escape.lower() in _CLASSES and not in_class:
                out.append(f"[^{_class_ranges(escape.lower())}]")
            elif escape in "bBZ" or escape.lower() in _CLASSES:
                raise InputError(f"The token pattern's `\\{escape}` has no RE2 equivalent here, "
                                 f"so the tagger's tokenization cannot be exported. Received: "
                                 f"{pattern!r}")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        out.append(char)
        i += 1
        if char == "[" and not in_class:
            in_class = True
            for literal in "^]":  # `[^` negates; a `]` first in a class is a literal.
                if pattern[i:i + 1] == literal:
                    out.append(literal if literal == "^" else "\\]")
                    i += 1
        elif char == "]" and in_class:
            in_class = False
    return "".join(out)


def split_tokens(sentences, pattern):
    """The tokens of each sentence, a ragged string tensor: `re.findall(pattern, ...)` in
    TensorFlow Text ops, with `tokenize`'s double quotes (`"` alternately `` and '' from an
    opening one, `“` as ``, `”` as '')."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    pattern = re2_pattern(pattern)
    # Every token is a kept delimiter; any other character is a dropped one (findall skips
    # it), so nothing between delimiters remains.
    tokens = tf_text.regex_split(sentences, f"(?:{pattern})|(?s:.)", pattern)
    flat = tokens.flat_values
    first = tf.ragged.range(tokens.row_lengths()).flat_values == 0
    straight, opening, closing = flat == '"', flat == "\u201c", flat == "\u201d"

    def after(open_quote, token):  # Whether a `"` opens a quote, after this token.
        starts, is_straight, is_opening, is_closing = tf.unstack(token)
        before = open_quote | starts  # Each sentence starts with a quote to open.
        return tf.where(is_opening, False, tf.where(is_closing, True, before ^ is_straight))

    states = tf.scan(after, tf.stack([first, straight, opening, closing], axis=1),
                     initializer=tf.constant(True))
    opens = first | tf.concat([[True], states[:-1]], axis=0)  # The state before each token.
    flat = tf.where(opening | (straight & opens), "``",
                    tf.where(closing | straight, "''", flat))
    return tokens.with_flat_values(flat)


@exporter("tagging")
def tagging_graph(task):
    """The tagger's `tag` over a batch of raw sentences, in TensorFlow ops (with TensorFlow
    Text's); its TFLite alternative (`ServingGraph.tflite`) takes the word and character ids
    of one sentence.

    Args:
        task: a `SequenceTagger`.
    """
    import tensorflow as tf

    from model_zoo.models.tagging import has_crf
    from model_zoo.models.text.tokenizer import truncate

    vocabulary, tags = task.vocabulary, task.tags
    pattern = task.preprocessing.get("token_pattern") or TOKEN_PATTERN
    width = vocabulary.max_word_chars
    with tf.init_scope():
        words_table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocabulary.words),
            tf.range(2, vocabulary.num_words, dtype=tf.int64)), default_value=OOV)
        chars_table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant([ord(c) for c in vocabulary.chars], tf.int64),
            tf.range(4, vocabulary.num_chars, dtype=tf.int64)), default_value=OOV)
    crf = has_crf(task.model)
    names = tf.constant(tags + [""])  # Index len(tags): the padding's "".

    def decode(words, chars):
        """Tags of word and character id matrices (0 pads: a sentence's length is its
        non-zero word ids, as a real token's id is at least 1)."""
        lengths = tf.reduce_sum(tf.cast(words != PAD, tf.int32), axis=1)
        output = task.model({"words": words, "chars": chars}, training=False)
        ids = output if crf else tf.argmax(output, axis=-1, output_type=tf.int32)
        real = tf.range(tf.shape(words)[1])[None, :] < lengths[:, None]
        index = tf.where(real, tf.cast(ids, tf.int32), -1)
        return {"tags": tf.gather(names, tf.where(real, index, len(tags))),
                "tag_index": index}, lengths

    def encode_chars(tokens):  # As `TagVocabulary.encode_chars`, for a flat string tensor.
        codes = tf.strings.unicode_decode(tokens, "UTF-8", errors="replace")
        inner = width - 2  # A long word keeps its first and last characters.
        codes = truncate(codes, inner, "head_tail", head=inner // 2)
        ids = tf.ragged.map_flat_values(
            lambda c: tf.cast(chars_table.lookup(tf.cast(c, tf.int64)), tf.int32), codes)
        marks = tf.ones([tf.size(tokens), 1], tf.int32)
        return tf.concat([marks * BOW, ids, marks * EOW], axis=1).to_tensor(
            default_value=PAD, shape=[None, width])

    def tag(sentences):
        tokens = split_tokens(sentences, pattern)
        flat = tokens.flat_values
        keys = tf.strings.lower(flat, encoding="utf-8") if vocabulary.lowercase else flat
        word_ids = tf.cast(words_table.lookup(keys), tf.int32)
        # At least one step: the model (the CRF's first step) needs one even for a batch of
        # empty sentences; the outputs are cut back to the longest sentence.
        shape = tf.stack([tokens.nrows(), tf.maximum(tokens.bounding_shape(axis=1), 1)])
        words = tokens.with_flat_values(word_ids).to_tensor(PAD, shape=shape)
        chars = tf.RaggedTensor.from_row_splits(encode_chars(flat), tokens.row_splits)
        chars = chars.to_tensor(PAD, shape=tf.concat([shape, [width]], axis=0))
        out, lengths = decode(words, chars)
        longest = tf.reduce_max(tf.concat([lengths, [0]], axis=0))
        return {"tokens": tokens.to_tensor(""), "lengths": lengths,
                **{name: value[:, :longest] for name, value in out.items()}}

    sentences = np.array([
        "The old man saw 3 dogs near the river's edge.",
        'He said, "Don\'t go." Mr. Smith paid $5.50 at 10:30 in the U.S. on 1/2 of "it".',
        "\u201cCurly quotes\u201d -- and an extraordinarily-long-hyphenated-word... "
        "Ünïcödé café ２３½ NASA_2024",
        "",
        "  Spaces\tand\ttabs\nand a newline  ",
    ])
    tagged = task.tag(list(sentences))
    lengths = np.array([len(pairs) for pairs in tagged], "int32")
    real = np.arange(lengths.max())[None, :] < lengths[:, None]

    def padded(values, fill):  # Row-major, as `real` is filled.
        out = np.full(real.shape, fill, dtype=object)
        out[real] = values
        return out

    tokens, predicted = zip(*[pair for pairs in tagged for pair in pairs])
    expected = {"tokens": padded(tokens, "").astype(str),
                "tags": padded(predicted, "").astype(str),
                "tag_index": padded([tags.index(t) for t in predicted], -1).astype("int32")}
    outputs = {"tags": "string [batch, max tokens]: each token's tag, \"\" after the "
                       f"sentence's end; tags among {tags}",
               "tag_index": "int32 [batch, max tokens]: each tag's index in that list, -1 "
                            "after the sentence's end"}
    # The verb's own word and character ids of the example, for the TFLite model.
    encoded = encode_sentences(vocabulary, [([t for t, _ in pairs], None) for pairs in tagged],
                               with_tags=False)
    ids, _ = pad_batch(encoded, width)
    steps = ("`model_zoo.data.tagging.tokenize` with the token pattern of `preprocessing.json` "
             "(Brown-style "
             "quotes: `\"` alternately `` and '', `\u201c` ``, `\u201d` ''); word ids: the token"
             f"{' lowercased' if vocabulary.lowercase else ''}, line k (from 0) of `words.txt` "
             "being id k + 2, an unknown word 1; character ids: the token as written, "
             f"{width} per token: {BOW}, then each character (entry k of `vocabulary.chars` "
             f"being id k + 4, an unknown one 1; a token longer than {width - 2} keeps its "
             f"first {(width - 2) // 2} and last {width - 2 - (width - 2) // 2}), then {EOW}, "
             "then 0s")
    lite = ServingGraph(
        lambda words, chars: decode(words, chars)[0],
        inputs={"words": (tf.TensorSpec([None, None], tf.int32, name="words"),
                          "the word ids of one sentence's tokens (see below); 0 pads"),
                "chars": (tf.TensorSpec([None, None, width], tf.int32, name="chars"),
                          f"the {width} character ids of each of its tokens (see below)")},
        outputs=outputs, example={"words": ids["words"], "chars": ids["chars"]},
        expected={name: expected[name] for name in outputs},
        notes=["TFLite's builtin ops do not hold TensorFlow Text's regular expressions (the "
               "converter passes them only as TensorFlow ops, which the TFLite runtimes lack), "
               "so the caller splits the sentence into tokens and encodes them: " + steps
               + ".",
               "`preprocessing.json` holds the token pattern and the vocabulary's settings "
               "(characters, tags, lowercasing); `words.txt` the word list."],
        assets={"preprocessing.json": json.dumps(task.preprocessing, indent=2) + "\n",
                **task.assets()})
    return ServingGraph(
        tag,
        inputs={"sentences": (tf.TensorSpec([None], tf.string, name="sentences"),
                              "a batch of raw sentences (UTF-8)")},
        outputs={"tokens": "string [batch, max tokens]: each sentence's tokens, as the Python "
                           "verb splits them, \"\" after its end",
                 "lengths": "int32 [batch]: each sentence's number of tokens",
                 **outputs},
        example={"sentences": sentences},
        expected={**expected, "lengths": lengths},
        notes=["Unlike the Python verb, the graph takes raw sentences only (not token lists) "
               "and does not refuse sentences past `model_zoo.limits` (500 tokens, 20,000 "
               "characters)." + (" The tags are the CRF's Viterbi path." if crf else ""),
               "The sentences are split with RE2 (TensorFlow Text's `regex_split`), Python's "
               "Unicode classes `\\w`, `\\d`, `\\s` spelled out; the Unicode versions of "
               "Python and of TensorFlow's lower-casing can differ on recent characters."],
        requires=["tensorflow_text"],
        resources=[words_table, chars_table],
        tflite=lite)
