"""The classical baselines of translation: copying the source, and retrieving the target of the
most similar training source.

Both are fitted on training pairs only. The translation recipe scores both on the test books;
a fine-tuned translator is compared with retrieval (`Translator.comparison_rows`, its
"baseline" row: the stronger of the two on any real data, and decided without looking at the
test part), with copying as an extra row.
"""

from model_zoo.optional import import_optional

DESCRIPTION = ("the target of the most similar training source (TF-IDF word 1-2 grams, "
               "cosine), fitted on the pairs the fine-tune saw")
COPY_DESCRIPTION = "the source sentence copied unchanged"


def copy_source(sources):
    """The "translations" of copying: the sources themselves (names, numbers, cognates)."""
    return list(sources)


class NearestPair:
    """Translates a sentence into the target of the training pair whose source is most like it.

    Sources are compared by the cosine of their TF-IDF vectors of word unigrams and bigrams
    (sublinear term frequency). A sentence with no word of the training sources is equally far
    from all of them and gets the first training target.

    Args:
        pairs: the training `(source, target)` pairs.

    Example:
    >>> retrieval = NearestPair([("God is love.", "Dios es amor."), ("The earth.", "La tierra.")])
    >>> retrieval.translate(["love is God"])
    ['Dios es amor.']
    """

    def __init__(self, pairs):
        import_optional("sklearn", "train", "The translation baseline (TF-IDF nearest pair)")
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.neighbors import NearestNeighbors

        pairs = list(pairs)
        self.targets = [target for _, target in pairs]
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        try:
            index = self.vectorizer.fit_transform([source for source, _ in pairs])
        except ValueError:  # No word of two letters or more in any source: nothing to match.
            self.vectorizer = self.nearest = None
            return
        self.nearest = NearestNeighbors(n_neighbors=1, metric="cosine").fit(index)

    def translate(self, sources):
        """The retrieved target of each source, a list of strings."""
        sources = list(sources)
        if self.nearest is None:
            return [self.targets[0]] * len(sources)
        _, found = self.nearest.kneighbors(self.vectorizer.transform(sources))
        return [self.targets[i] for i in found[:, 0]]


def nearest_pair(pairs):
    """A fitted `NearestPair` of the training `(source, target)` pairs."""
    return NearestPair(pairs)
