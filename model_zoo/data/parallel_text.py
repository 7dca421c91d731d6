"""Parallel text from the user: tab-separated sentence pairs, and checks on raw text input."""

import os

from model_zoo.data.text import length_batches, pad_rows
from model_zoo.errors import InputError


def read_parallel_tsv(path, encoding="utf-8"):
    """Reads `source<TAB>target` lines into a list of `(source, target)` pairs.

    Blank lines are skipped. Any other line must have exactly two non-empty, tab-separated
    fields; the first line that does not is reported with its number.

    Example:
    >>> read_parallel_tsv("pairs.tsv")  # doctest: +SKIP
    [('Good morning.', 'Buenos días.'), ...]
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"No such file of sentence pairs. Expected a TSV file. Received: {path}")
    pairs = []
    with open(path, encoding=encoding) as f:
        try:
            for number, line in enumerate(f, start=1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                fields = line.split("\t")
                if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                    why = (f"{len(fields)} tab-separated fields" if len(fields) != 2
                           else "an empty field")
                    raise InputError(
                        f"{path}, line {number}: expected two non-empty fields separated by one "
                        f"tab (source<TAB>target), found {why}. Received: {line[:120]!r}"
                    )
                pairs.append((fields[0].strip(), fields[1].strip()))
        except UnicodeDecodeError as e:
            raise InputError(f"{path} is not {encoding} text ({e.reason}). "
                             f"Received: bytes at offset {e.start}") from None
    if not pairs:
        raise InputError(f"{path} holds no sentence pairs. Received: an empty file")
    return pairs


def as_pairs(data):
    """Pairs from a TSV path or from a sequence of `(source, target)` string pairs."""
    if isinstance(data, (str, os.PathLike)):
        return read_parallel_tsv(data)
    try:
        pairs = [tuple(p) for p in data]
    except TypeError:
        raise InputError(f"Expected a TSV path or a list of (source, target) pairs. "
                         f"Received: {type(data).__name__}") from None
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(s, str) and s.strip() for s in pair):
            raise InputError(f"Pair {i} is not two non-empty strings. Received: {pair!r}")
    if not pairs:
        raise InputError("Expected at least one sentence pair. Received: 0 pairs")
    return [(s.strip(), t.strip()) for s, t in pairs]


def as_texts(texts):
    """`(list_of_strings, was_single)` from one string or a list of strings."""
    if isinstance(texts, str):
        return [texts], True
    if texts is None or not hasattr(texts, "__iter__"):
        raise InputError(f"Expected a string or a list of strings. "
                         f"Received: {type(texts).__name__}")
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise InputError(f"Expected strings; item {bad[0]} is a "
                         f"{type(texts[bad[0]]).__name__}. Received: {texts[bad[0]]!r}")
    return texts, False


def seq2seq_dataset(source_ids, target_ids, batch_size, shuffle=False, seed=0, bos_id=2,
                    eos_id=3):
    """A tf.data pipeline of teacher-forcing batches of similar length.

    Each element is `({"source": ids, "target_in": [bos] + target}, target + [eos])`, padded
    on the right with 0 to the longest sequence of its batch. With `shuffle`, every epoch draws
    new batches (shuffled, then sorted by length within pools of 50 batches); the number of
    batches is fixed, and known to tf.data.

    Args:
        source_ids, target_ids: lists of id lists (no start/end ids).
        batch_size: pairs per batch.
        shuffle: reshuffle the pairs every epoch (with `seed`).
    """
    import numpy as np
    import tensorflow as tf

    if len(source_ids) != len(target_ids) or not source_ids:
        raise InputError(f"Expected as many sources as targets, at least one. "
                         f"Received: {len(source_ids)} and {len(target_ids)}")
    lengths = [max(len(s), len(t) + 1) for s, t in zip(source_ids, target_ids)]
    n_batches = -(-len(lengths) // batch_size)  # Fixed: every epoch has this many.
    epoch = [0]

    def generate():
        rng = np.random.default_rng([seed, epoch[0]]) if shuffle else None
        epoch[0] += 1
        for index in length_batches(lengths, batch_size, shuffle, rng):
            yield ({"source": pad_rows([source_ids[i] for i in index]),
                    "target_in": pad_rows([[bos_id] + target_ids[i] for i in index])},
                   pad_rows([target_ids[i] + [eos_id] for i in index]))

    spec = tf.TensorSpec((None, None), tf.int32)
    ds = tf.data.Dataset.from_generator(
        generate, output_signature=({"source": spec, "target_in": spec}, spec))
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)
