"""English-Spanish Bible verse pairs: the World English Bible and the Reina-Valera 1909.

Both are public-domain SWORD modules packaged by Debian (`apt-get install sword-text-web
sword-text-sparv`) and read with pysword. Reading two whole Bibles takes a few minutes, so the
cleaned pairs are cached once as a TSV under `model_zoo.data.cache.data_home()`.

Cleaning (the raw text is OSIS markup):

* footnotes (`<note>...</note>`) are removed; where a note sat between two words the words are
  kept apart, so "God<note>...</note>created" gives "God created", not "Godcreated";
* every other tag is dropped, keeping its text (words, poetry lines, quotes, Psalm titles,
  the RV's italic `transChange` additions); whitespace is collapsed;
* the RV prints the first word of a chapter in capitals ("EN el principio"); it is recased;
* verses missing or empty in either Bible are dropped: that removes the WEB's deuterocanonical
  books, which have no Spanish pair.

The split holds out whole books, so that no verse of a test book (nor its context) is trained
on: `VALIDATION_BOOKS` and `TEST_BOOKS` below are the published lists.
"""

import csv
import dataclasses
import os
import re

from model_zoo.data.cache import building, data_home, require_path
from model_zoo.optional import import_optional

SWORD_ROOT = "/usr/share/sword"
ENGLISH_MODULE = "engWEB2015eb"
SPANISH_MODULE = "spaRV1909eb"
CACHE_VERSION = "v1"

# Whole books held out: narrative, prophecy, wisdom and epistles on both sides of the canon.
VALIDATION_BOOKS = ("Joel", "Hab", "Col", "1Pet", "Titus")
TEST_BOOKS = ("Ruth", "Jonah", "Mic", "Eph", "Phil", "Jas", "2Pet", "1John")


@dataclasses.dataclass(frozen=True)
class VersePair:
    """One aligned verse: its reference and the English and Spanish texts."""

    book: str
    chapter: int
    verse: int
    english: str
    spanish: str

    @property
    def reference(self):
        return f"{self.book} {self.chapter}:{self.verse}"


_NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.S)
_TAG = re.compile(r"<[^>]+>")
_NOTE_MARK = "\x00"
_CAPS_WORD = re.compile(r"\b([A-ZÁÉÍÓÚÜÑ]{2,})\b")


def clean_osis(text, first_verse=False):
    """Plain text of one verse of OSIS markup (see the module docstring).

    >>> clean_osis('<w>God</w><note placement="foot">Elohim.</note><w>created</w> it.')
    'God created it.'
    >>> clean_osis('<w>EN el principio</w> crió Dios', first_verse=True)
    'En el principio crió Dios'
    """
    text = _NOTE.sub(_NOTE_MARK, text)
    text = _TAG.sub("", text)
    # A removed note keeps the words around it apart, unless punctuation or a space follows.
    text = re.sub(_NOTE_MARK + r"(?=[\s,.;:!?’”)\]]|$)", "", text)
    text = text.replace(_NOTE_MARK, " ")
    text = re.sub(r"\s+", " ", text).strip()
    if first_verse:
        text = _CAPS_WORD.sub(lambda m: m.group(1).capitalize(), text, count=1)
    return text


def _read_module(modules, key):
    """`{(book, chapter, verse): text}` of one SWORD module, cleaned."""
    bible = modules.get_bible_from_module(key)
    verses = {}
    for books in bible.get_structure().get_books().values():
        for book in books:
            for chapter in range(1, book.num_chapters + 1):
                texts = bible.get_iter(books=[book.osis_name], chapters=[chapter], clean=False)
                for number, raw in enumerate(texts, start=1):
                    verses[(book.osis_name, chapter, number)] = clean_osis(raw, number == 1)
    return verses


def _book_order(modules, key):
    bible = modules.get_bible_from_module(key)
    return [b.osis_name for books in bible.get_structure().get_books().values() for b in books]


def read_sword_pairs(sword_root=SWORD_ROOT):
    """Reads both Bibles with pysword and aligns them by reference (slow: minutes)."""
    import_optional("pysword", "recipes", "Reading the Bibles")
    from pysword.modules import SwordModules

    for key, package in ((ENGLISH_MODULE, "sword-text-web"), (SPANISH_MODULE, "sword-text-sparv")):
        require_path(os.path.join(sword_root, "mods.d", f"{key}.conf"),
                     apt_package=package, pip_package=None)
    modules = SwordModules(sword_root)
    modules.parse_modules()
    english = _read_module(modules, ENGLISH_MODULE)
    spanish = _read_module(modules, SPANISH_MODULE)
    order = {b: i for i, b in enumerate(_book_order(modules, SPANISH_MODULE))}
    pairs = [VersePair(b, c, v, english[(b, c, v)], text)
             for (b, c, v), text in spanish.items()
             if text and english.get((b, c, v))]
    pairs.sort(key=lambda p: (order[p.book], p.chapter, p.verse))
    return pairs


def cache_path():
    return os.path.join(data_home(), "bible", f"web-rv1909-{CACHE_VERSION}", "pairs.tsv")


def load_pairs(sword_root=SWORD_ROOT):
    """Every aligned verse pair, in canonical order, from the cache (built on first use)."""
    path = cache_path()
    if not os.path.isfile(path):
        pairs = read_sword_pairs(sword_root)
        with building(os.path.dirname(path)) as tmp:
            with open(os.path.join(tmp, "pairs.tsv"), "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\",
                                    lineterminator="\n")
                for p in pairs:
                    writer.writerow([p.book, p.chapter, p.verse, p.english, p.spanish])
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        return [VersePair(b, int(c), int(v), en, es) for b, c, v, en, es in reader]


def split_pairs(pairs, validation_books=VALIDATION_BOOKS, test_books=TEST_BOOKS):
    """`{"train", "validation", "test"}` lists of pairs, holding out whole books."""
    held = set(validation_books) | set(test_books)
    return {"train": [p for p in pairs if p.book not in held],
            "validation": [p for p in pairs if p.book in validation_books],
            "test": [p for p in pairs if p.book in test_books]}
