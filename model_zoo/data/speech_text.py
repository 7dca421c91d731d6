"""Transcripts for speech recognition: normalisation and the character alphabet of CTC.

A transcript is normalised before it is a label and before it is scored: Unicode NFC,
lowercase, digits spelt out in words (num2words, in the transcript's language), `#`/`*` read as
"pound"/"star" (phone keys), every other character outside the alphabet turned into a space,
and runs of spaces collapsed. The same function normalises the text fed to the synthesisers, so
that what a synthetic voice says is exactly its label.

    >>> normalize_transcript("Press 1, then # (the pound key).")
    'press one then pound the pound key'
"""

import dataclasses
import re
import unicodedata

from model_zoo.errors import InputError
from model_zoo.optional import import_optional

ENGLISH_ALPHABET = "' abcdefghijklmnopqrstuvwxyz"

_SPOKEN_SYMBOLS = {"#": " pound ", "*": " star ", "&": " and ", "%": " percent ", "@": " at "}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _spell_number(match, language):
    import_optional("num2words", "train", "Normalising transcripts (numbers in words)")
    from num2words import num2words

    text = match.group(0)
    digits = text.replace(",", "")
    try:
        value = float(digits) if "." in digits else int(digits)
        words = num2words(value, lang=language)
    except (NotImplementedError, OverflowError, ValueError):
        words = " ".join(num2words(int(d), lang=language) for d in text if d.isdigit())
    return f" {words} "


def normalize_transcript(text, language="en", alphabet=None):
    """The label form of a transcript: lowercase words of `alphabet` characters and spaces.

    Args:
        text: the raw transcript.
        language: the language numbers are spelt out in (a num2words code: "en", "nl", ...).
        alphabet: the characters to keep (default: English letters, apostrophe and space);
            `None` with a language other than English keeps every letter (accents too).
    """
    if not isinstance(text, str):
        raise InputError(f"A transcript must be a string. Received: {type(text).__name__}")
    text = unicodedata.normalize("NFC", text).lower()
    text = text.replace("\u2019", "'").replace("`", "'")
    for symbol, spoken in _SPOKEN_SYMBOLS.items():
        text = text.replace(symbol, spoken)
    text = _NUMBER.sub(lambda m: _spell_number(m, language), text)
    if alphabet is None and language == "en":
        alphabet = ENGLISH_ALPHABET
    if alphabet is None:
        keep = lambda c: c.isalpha() or c in "' "  # noqa: E731
    else:
        allowed = set(alphabet)
        keep = lambda c: c in allowed  # noqa: E731
    text = "".join(c if keep(c) else " " for c in text)
    # An apostrophe is kept only inside a word ("don't"), not as a quotation mark.
    text = re.sub(r"(?<![a-z\u00c0-\u024f])'|'(?![a-z\u00c0-\u024f])", " ", text)
    return " ".join(text.split())


@dataclasses.dataclass
class CharAlphabet:
    """The output symbols of a CTC model: index 0 is the CTC blank, then one per character.

    Args:
        characters: the characters, in output order (a string; must include the space).

    Example:
    >>> alphabet = CharAlphabet(ENGLISH_ALPHABET)
    >>> alphabet.decode(alphabet.encode("hello world"))
    'hello world'
    >>> alphabet.size   # 28 characters + the blank
    29
    """

    characters: str = ENGLISH_ALPHABET

    def __post_init__(self):
        if len(set(self.characters)) != len(self.characters) or " " not in self.characters:
            raise InputError(
                "An alphabet is a string of distinct characters that includes the space. "
                f"Received: {self.characters!r}"
            )
        self._index = {c: i + 1 for i, c in enumerate(self.characters)}

    @property
    def size(self):
        """Number of CTC outputs: the characters plus the blank."""
        return len(self.characters) + 1

    def encode(self, text):
        """Label ids (1..size-1) of a normalised transcript."""
        unknown = sorted({c for c in text if c not in self._index})
        if unknown:
            raise InputError(
                f"The transcript has characters outside the model's alphabet {unknown}; "
                f"normalise it first (normalize_transcript). Received: {text!r}"
            )
        return [self._index[c] for c in text]

    def decode(self, ids):
        """The text of label ids; the blank (0) and negative padding ids are skipped."""
        chars = self.characters
        return "".join(chars[i - 1] for i in ids if 0 < i <= len(chars))

    @classmethod
    def from_texts(cls, texts, base=ENGLISH_ALPHABET):
        """`base` followed by every other character that occurs in `texts`, sorted."""
        extra = sorted({c for t in texts for c in t} - set(base))
        return cls(base + "".join(extra))
