"""The classical baseline of sequence tagging: each word's most frequent training tag.

Fitted on the training sentences only; what a fine-tuned tagger is compared with
(`SequenceTagger.comparison_rows`) and what the tagging recipe reports next to its test scores.
Words are looked up lowercased; a word never seen in training gets the most frequent tag of the
words seen once (rare words are the best guide to unknown ones), or, when every training word
was seen more than once, the most frequent tag overall. It only ever says training tags: a
test tag the training sentences lack counts as its error, as it does for a fine-tuned tagger.
"""

import collections

DESCRIPTION = "most frequent training tag per word (lowercased; unknown words: that of rare words)"


def most_frequent_tag(train):
    """A tagger giving each word its most frequent training tag.

    Args:
        train: the training sentences, a list of `(tokens, tags)` pairs.

    Returns:
        `tag(tokens) -> tags`, a function of one token list.

    Example:
    >>> tag = most_frequent_tag([(["The", "dog"], ["DET", "NOUN"]),
    ...                          (["the", "cat"], ["DET", "NOUN"])])
    >>> tag(["The", "cat", "purrs"])
    ['DET', 'NOUN', 'NOUN']
    """
    counts = collections.defaultdict(collections.Counter)
    for tokens, tags in train:
        for token, tag in zip(tokens, tags):
            counts[token.lower()][tag] += 1
    best = {w: c.most_common(1)[0][0] for w, c in counts.items()}
    rare = collections.Counter(t for w, c in counts.items() if sum(c.values()) == 1 for t in c)
    if not rare:  # No word seen once: the most frequent tag of all.
        rare = sum(counts.values(), collections.Counter())
    fallback = rare.most_common(1)[0][0]
    return lambda tokens: [best.get(t.lower(), fallback) for t in tokens]
