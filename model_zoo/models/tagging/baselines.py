"""The classical baseline of sequence tagging: each word's most frequent training tag.

Fitted on the training sentences only; what a fine-tuned tagger is compared with
(`SequenceTagger.comparison_rows`) and what the tagging recipe reports next to its test scores.
Words are looked up lowercased. A word never seen in training gets the most frequent tag of
the rare training words (seen once: the best guide to unknown ones) that look like it, backing
off from its shape (a digit, a hyphen, a capital letter, or lowercase) with its last three
letters, to its shape with its last two, then one, then its shape alone, then any rare word
(the classic suffix rules of unknown-word guessing, as in TnT; written here because the rules
are a few lines and no tagging library takes a fixed training set without its own model).
When every training word was seen more than once, the words of every count stand in for the
rare ones. It only ever says training tags: a test tag the training sentences lack counts as
its error, as it does for a fine-tuned tagger.
"""

import collections

DESCRIPTION = ("most frequent training tag per word (lowercased; unknown words: that of rare "
               "words with the same shape and suffix)")


def word_shape(token):
    """`"digit"`, `"hyphen"`, `"capital"` or `"lower"`: the first that applies."""
    if any(c.isdigit() for c in token):
        return "digit"
    if "-" in token:
        return "hyphen"
    return "capital" if token[:1].isupper() else "lower"


def _signatures(token):
    """From the most specific to the least: what an unknown word is looked up by."""
    shape, word = word_shape(token), token.lower()
    return [(shape, word[-3:]), (shape, word[-2:]), (shape, word[-1:]), (shape,), ()]


def most_frequent_tag(train):
    """A tagger giving each word its most frequent training tag (unknown words: see the module
    docstring).

    Args:
        train: the training sentences, a list of `(tokens, tags)` pairs.

    Returns:
        `tag(tokens) -> tags`, a function of one token list.

    Example:
    >>> tag = most_frequent_tag([(["The", "dog", "runs"], ["DET", "NOUN", "VERB"]),
    ...                          (["the", "cat", "sits"], ["DET", "NOUN", "VERB"])])
    >>> tag(["The", "cat", "purrs", "rat"])
    ['DET', 'NOUN', 'VERB', 'NOUN']
    """
    counts = collections.defaultdict(collections.Counter)
    forms = collections.defaultdict(collections.Counter)  # each word's spellings, for its shape
    for tokens, tags in train:
        for token, tag in zip(tokens, tags):
            counts[token.lower()][tag] += 1
            forms[token.lower()][token] += 1
    best = {w: c.most_common(1)[0][0] for w, c in counts.items()}
    rare = [w for w, c in counts.items() if sum(c.values()) == 1] or list(counts)
    by_signature = collections.defaultdict(collections.Counter)
    for word in rare:
        for signature in _signatures(forms[word].most_common(1)[0][0]):
            by_signature[signature].update(counts[word])

    def guess(token):
        for signature in _signatures(token):
            if signature in by_signature:
                return by_signature[signature].most_common(1)[0][0]
        return by_signature[()].most_common(1)[0][0]

    return lambda tokens: [best.get(t.lower()) or guess(t) for t in tokens]
