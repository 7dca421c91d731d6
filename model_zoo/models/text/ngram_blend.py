"""A logistic regression on token 1-2 grams, as a Keras layer to blend into a text classifier.

On a few hundred or thousand labelled texts, TF-IDF + logistic regression often beats a
fine-tuned recurrent classifier (issue 18: product reviews, e-mails, tweets), while on other
data the network wins; their errors differ, so a blend of both can beat each. This module
puts that linear model *inside* the Keras model, so a checkpoint carries it, it runs on every
backend (only `keras.ops`) and the task's code stays unchanged (`model_zoo.models.blending`):

    token ids (batch, time), 0 = padding
      -> ngram_keys       every token id, and every pair of neighbouring ids, as one int32 key
                          (exact: `id` and `vocabulary + (first - 1) * vocabulary + second`)
      -> ngram_features   the keys looked up in the fitted vocabulary (a sorted key array,
                          binary search), sublinear tf-idf, L2 normalised
      -> TokenNgramClassifier  times a (features, classes) kernel, softmax: a logistic
                          regression's class probabilities

The n-grams are those of the classifier's own tokenizer (no second tokenizer to ship). The
vocabulary, idf and kernel are fitted by scikit-learn on the same features, computed by the
same functions, and copied in; the two models are pooled by a log-linear blend fitted on
validation texts (`TextClassifier.with_ngram_blend`,
`model_zoo.models.blending.fit_log_linear_pool`).

The features are exactly scikit-learn's `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
min_df=2, max_features=200_000)` of the token strings (tested). What was measured on the way,
with the published sentiment networks and scikit-learn's stacking (test accuracy):
sublinear tf with `min_df=2` beat linear tf with every n-gram (IMDB, the n-gram model alone,
whole reviews: 0.914 against 0.906); the first version, which hashed bigrams into 2**18
buckets, held the IMDB blend back to the baseline's 0.906 (now 0.909); word 1-2 grams (the
tokens joined into words) would pool better than token 1-2 grams on Rotten Tomatoes (0.789
against 0.775, inside the noise of 853 sentences) and no better on IMDB, and are not done:
exact word keys need a lookup per word piece. Tokenizers of more than 46,340 tokens get
unigrams only (a pair's key would not fit in int32).
"""

import keras
import numpy as np
from keras import ops

from model_zoo.optional import import_optional

#: scikit-learn's `max_features` of the text baseline: the most frequent n-grams kept.
MAX_FEATURES = 200_000
#: The largest vocabulary whose pair keys `vocabulary * (vocabulary + 1)` fit in int32.
MAX_PAIR_VOCABULARY = 46_340


def ngram_keys(ids, vocabulary_size):
    """Right-padded id rows `(batch, time)` -> `(batch, 2 * time - 1)` int32 keys: each id,
    and each pair of neighbouring ids as `vocabulary_size + (first - 1) * vocabulary_size +
    second` (none above `MAX_PAIR_VOCABULARY` tokens); 0 for padding."""
    ids = ops.cast(ids, "int32")
    if vocabulary_size > MAX_PAIR_VOCABULARY:
        return ids
    first, second = ids[:, :-1], ids[:, 1:]
    pairs = vocabulary_size + (first - 1) * vocabulary_size + second
    return ops.concatenate(
        [ids, ops.where(ops.logical_and(first > 0, second > 0), pairs, 0)], axis=1)


def lower_bound(keys, values):
    """The index of the first of the sorted int32 `keys` (static length) not below each of
    `values` (`keys`' length where none is): `searchsorted(keys, values, "left")` as a binary
    search of `ceil(log2(len(keys) + 1))` gathers, because TFLite cannot convert
    `searchsorted` (TensorFlow's `LowerBound` op), not even with `SELECT_TF_OPS`."""
    size = int(keys.shape[0])
    low = ops.zeros_like(values)
    high = ops.full_like(values, size)
    for _ in range(max(1, int(np.ceil(np.log2(size + 1))))):
        middle = ops.floor_divide(low + high, 2)
        below = ops.take(keys, ops.minimum(middle, size - 1), axis=0) < values
        searching = low < high
        low = ops.where(ops.logical_and(searching, below), middle + 1, low)
        high = ops.where(ops.logical_and(searching, ops.logical_not(below)), middle, high)
    return low


def ngram_features(ids, vocabulary_size, keys, idf):
    """`(features, weights)` of right-padded id rows: every 1-2 gram's index in the sorted
    vocabulary `keys` plus one (0: padding or not in the vocabulary), sorted within each row,
    and each occurrence's share of its n-gram's sublinear tf-idf value
    `(1 + log count) * idf`, L2-normalised over the row's distinct n-grams. `idf[0]` is 0.
    The sum of an n-gram's occurrences' weights is its TfidfVectorizer value."""
    grams = ngram_keys(ids, vocabulary_size)
    batch, width = ops.shape(grams)[0], ops.shape(grams)[1]
    flat = ops.reshape(grams, (-1,))
    found = ops.minimum(lower_bound(keys, flat), keys.shape[0] - 1)
    known = ops.logical_and(ops.take(keys, found, axis=0) == flat, flat > 0)
    features = ops.sort(ops.reshape(ops.where(known, found + 1, 0), (batch, width)), axis=1)
    # Each occurrence's count in its row: the equal features of a sorted row are one run.
    starts = ops.concatenate([ops.ones_like(features[:, :1]),
                              ops.cast(features[:, 1:] != features[:, :-1], "int32")], axis=1)
    runs = ops.cumsum(starts, axis=1) - 1 + ops.expand_dims(
        ops.arange(batch, dtype="int32") * width, 1)
    runs = ops.reshape(runs, (-1,))
    counts = ops.segment_sum(ops.ones_like(runs, dtype="float32"), runs,
                             num_segments=batch * width)
    counts = ops.reshape(ops.take(counts, runs, axis=0), (batch, width))
    tfidf = (1.0 + ops.log(counts)) * ops.take(idf, features, axis=0)  # at each occurrence
    norm = ops.sqrt(ops.sum(tfidf * tfidf / counts, axis=1, keepdims=True))
    # A row of no known n-gram has norm 0 and weights 0. (Not `maximum(norm, 1e-12)`: a
    # float16 TFLite model stores that constant as 0, and 0 / 0 is NaN.)
    return features, tfidf / counts / ops.where(norm > 0, norm, 1.0)


@keras.saving.register_keras_serializable(package="model_zoo")
class TokenNgramClassifier(keras.layers.Layer):
    """Class probabilities of a linear model over the sublinear tf-idf of the 1-2 grams of
    token ids (see the module's docstring); fitted by `fit_ngram_classifier`.

    Args:
        vocabulary_size: the tokenizer's vocabulary size (token ids).
        num_classes: the number of classes.
        features: the number of n-grams in the fitted vocabulary.

    Example:
    >>> layer = TokenNgramClassifier(100, 2, features=10)
    >>> layer(np.array([[5, 6, 7, 0]])).shape
    (1, 2)
    """

    def __init__(self, vocabulary_size, num_classes, features, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.num_classes = int(num_classes)
        self.features = int(features)
        # Sorted n-gram keys; the initial keys are distinct and sorted, so an unfitted layer
        # computes (uninformative) probabilities rather than failing.
        self.keys = self.add_weight(
            shape=(self.features,), dtype="int32", trainable=False, name="keys",
            initializer=lambda shape, dtype=None: ops.arange(1, shape[0] + 1, dtype="int32"))
        self.idf = self.add_weight(shape=(self.features + 1,), initializer="zeros",
                                   trainable=False, name="idf")
        self.kernel = self.add_weight(shape=(self.features + 1, self.num_classes),
                                      initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="bias")

    def call(self, ids):
        features, weights = ngram_features(ids, self.vocabulary_size, self.keys, self.idf)
        rows = ops.take(self.kernel, features, axis=0)  # (batch, grams, classes)
        return ops.softmax(ops.sum(rows * ops.expand_dims(weights, -1), axis=1) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "num_classes": self.num_classes, "features": self.features}


def fit_ngram_classifier(padded_ids, labels, vocabulary_size, num_classes, C=4.0, min_df=2,
                         max_features=MAX_FEATURES):
    """A `TokenNgramClassifier` fitted as a logistic regression (scikit-learn, `C` as the text
    baseline's) on right-padded id rows and integer labels. Its vocabulary: the n-grams in at
    least `min_df` rows (in at least one, when none is in `min_df`), the `max_features` most
    frequent of them (ties: the smaller key)."""
    import_optional("sklearn", "train", "Fitting the n-gram classifier of a fine-tune")
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    grams = ops.convert_to_numpy(ngram_keys(padded_ids, vocabulary_size))
    rows = np.repeat(np.arange(len(grams)), grams.shape[1])
    present = grams.ravel() > 0
    keys, totals = np.unique(grams.ravel()[present], return_counts=True)
    pairs = np.unique(rows[present].astype("int64") << 31 | grams.ravel()[present])
    documents = np.unique(pairs & ((1 << 31) - 1), return_counts=True)[1]  # keys' order
    kept = documents >= min_df if (documents >= min_df).any() else documents >= 1
    by_frequency = np.argsort(-totals[kept], kind="stable")[:max_features]
    chosen = np.sort(np.flatnonzero(kept)[by_frequency])
    # Smoothed idf as scikit-learn's, log((1 + n) / (1 + df)) + 1; index 0 is "no n-gram".
    idf = np.concatenate([[0.0], np.log((1 + len(grams)) / (1 + documents[chosen])) + 1])
    layer = TokenNgramClassifier(vocabulary_size, num_classes, len(chosen),
                                 name="ngram_classifier")
    layer.build((None, None))
    layer.keys.assign(keys[chosen].astype("int32"))
    layer.idf.assign(idf.astype("float32"))
    features, weights = (ops.convert_to_numpy(a) for a in ngram_features(
        padded_ids, vocabulary_size, layer.keys, layer.idf))
    matrix = sparse.csr_matrix((weights.ravel(), (rows, features.ravel())),
                               shape=(len(grams), len(chosen) + 1))  # repeats are summed
    model = LogisticRegression(C=C, max_iter=1000).fit(matrix, labels)
    kernel = np.zeros((len(chosen) + 1, num_classes), "float32")
    bias = np.zeros(num_classes, "float32")
    if num_classes == 2 and model.coef_.shape[0] == 1:  # binary: one row, the second class's
        kernel[:, 1], bias[1] = model.coef_[0], model.intercept_[0]
    else:
        kernel[:, model.classes_] = model.coef_.T
        bias[model.classes_] = model.intercept_
    layer.kernel.assign(kernel)
    layer.bias.assign(bias)
    return layer


# -- loading fine-tunes made before the exact n-gram vocabulary (model_zoo <= 2026-12-03) --------

_LEGACY_BIGRAM_BUCKETS = 1 << 18


@keras.saving.register_keras_serializable(package="model_zoo")
class NgramClassifier(keras.layers.Layer):
    """The first n-gram layer (token 1-2 grams, bigrams hashed into 2**18 buckets, linear tf),
    kept only so that fine-tuned checkpoints saved with it load and predict as they did;
    new fits make a `TokenNgramClassifier`.

    Args:
        vocabulary_size: the tokenizer's vocabulary size (unigram ids).
        num_classes: the number of classes.
    """

    def __init__(self, vocabulary_size, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.num_classes = int(num_classes)
        size = self.vocabulary_size + _LEGACY_BIGRAM_BUCKETS
        self.idf = self.add_weight(shape=(size,), initializer="ones", trainable=False,
                                   name="idf")
        self.kernel = self.add_weight(shape=(size, self.num_classes), initializer="zeros",
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="bias")

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        first, second = ids[:, :-1], ids[:, 1:]
        bigrams = self.vocabulary_size + ops.mod(first * 31 + second, _LEGACY_BIGRAM_BUCKETS)
        grams = ops.concatenate(
            [ids, ops.where(ops.logical_and(first > 0, second > 0), bigrams, 0)], axis=1)
        weights = ops.where(grams > 0, ops.take(self.idf, grams, axis=0), 0.0)
        weights = weights / ops.sqrt(ops.maximum(
            ops.sum(weights * weights, axis=1, keepdims=True), 1e-12))
        rows = ops.take(self.kernel, grams, axis=0)
        return ops.softmax(ops.sum(rows * ops.expand_dims(weights, -1), axis=1) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "num_classes": self.num_classes}
