"""A logistic regression on word 1-2 grams, as a Keras layer to blend into a text classifier.

On a few hundred or thousand labelled texts, TF-IDF + logistic regression often beats a
fine-tuned recurrent classifier (issue 18: product reviews, e-mails, tweets), while on other
data the network wins; their errors differ, so a blend of both can beat each. This module
puts that linear model *inside* the Keras model, so a checkpoint carries it, it runs on every
backend (only `keras.ops`) and the task's code stays unchanged (`model_zoo.models.blending`):

    token ids (batch, time), 0 = padding
      -> NgramClassifier  the ids as unigrams and hashed bigrams, tf-idf weighted, L2
                          normalised, times a (n-grams, classes) kernel, softmax: a logistic
                          regression's class probabilities

The n-grams are those of the classifier's own tokenizer (no second tokenizer to ship). The
kernel is fitted by scikit-learn's `LogisticRegression` on the same features, computed by the
same function (`ngram_features`), and copied in; its share of the blend is chosen on
validation texts (`TextClassifier.with_ngram_blend`). Two simplifications against scikit-learn's `TfidfVectorizer`,
both the same at fitting and at prediction: a repeated n-gram counts once per occurrence
(linear tf), and the L2 norm treats occurrences as distinct n-grams.
"""

import keras
import numpy as np
from keras import ops

from model_zoo.optional import import_optional

#: Bigram ids are hashed into this many buckets (after the unigram ids).
BIGRAM_BUCKETS = 1 << 18
_HASH_MULTIPLIER = 31  # ids below 2**26 keep `a * 31 + b` inside int32.


def ngram_features(ids, idf):
    """`(grams, weights)` of right-padded id rows `(batch, time)`: every unigram and bigram as
    one id (bigrams hashed above `vocabulary_size = len(idf) - BIGRAM_BUCKETS`), and its
    L2-normalised idf weight (0 for padding). Both `(batch, 2 * time - 1)`.
    """
    ids = ops.cast(ids, "int32")
    vocabulary_size = ops.shape(idf)[0] - BIGRAM_BUCKETS
    first, second = ids[:, :-1], ids[:, 1:]
    pair = ops.logical_and(first > 0, second > 0)
    bigrams = vocabulary_size + ops.mod(first * _HASH_MULTIPLIER + second, BIGRAM_BUCKETS)
    grams = ops.concatenate([ids, ops.where(pair, bigrams, 0)], axis=1)
    weights = ops.where(grams > 0, ops.take(idf, grams, axis=0), 0.0)
    norm = ops.sqrt(ops.maximum(ops.sum(weights * weights, axis=1, keepdims=True), 1e-12))
    return grams, weights / norm


@keras.saving.register_keras_serializable(package="model_zoo")
class NgramClassifier(keras.layers.Layer):
    """Class probabilities of a linear model over the tf-idf weighted 1-2 grams of token ids.

    Args:
        vocabulary_size: the tokenizer's vocabulary size (unigram ids).
        num_classes: the number of classes.

    Example:
    >>> layer = NgramClassifier(100, 2)
    >>> layer(np.array([[5, 6, 7, 0]])).shape
    (1, 2)
    """

    def __init__(self, vocabulary_size, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.num_classes = int(num_classes)
        size = self.vocabulary_size + BIGRAM_BUCKETS
        self.idf = self.add_weight(shape=(size,), initializer="ones", trainable=False,
                                   name="idf")
        self.kernel = self.add_weight(shape=(size, self.num_classes), initializer="zeros",
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="bias")

    def call(self, ids):
        grams, weights = ngram_features(ids, self.idf)
        rows = ops.take(self.kernel, grams, axis=0)  # (batch, grams, classes)
        return ops.softmax(ops.sum(rows * ops.expand_dims(weights, -1), axis=1) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "num_classes": self.num_classes}


def fit_ngram_classifier(padded_ids, labels, vocabulary_size, num_classes, C=4.0):
    """An `NgramClassifier` layer fitted as a logistic regression (scikit-learn, `C` as the text
    baseline's) on right-padded id rows and integer labels."""
    import_optional("sklearn", "train", "Fitting the n-gram classifier of a fine-tune")
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    layer = NgramClassifier(vocabulary_size, num_classes, name="ngram_classifier")
    size = vocabulary_size + BIGRAM_BUCKETS
    grams, _ = ngram_features(padded_ids, np.ones(size, "float32"))
    grams = ops.convert_to_numpy(grams)
    rows = np.repeat(np.arange(len(grams)), grams.shape[1])

    def document_matrix(values):  # (documents, n-grams); repeated n-grams are summed
        return sparse.csr_matrix((values.ravel(), (rows, grams.ravel())),
                                 shape=(len(grams), size))

    # Smoothed idf as scikit-learn's, log((1 + n) / (1 + df)) + 1; column 0 is padding.
    documents = np.asarray((document_matrix(np.ones(grams.shape)) > 0).sum(axis=0)).ravel()
    idf = (np.log((1 + len(grams)) / (1 + documents)) + 1).astype("float32")
    _, weights = ngram_features(padded_ids, idf)
    features = document_matrix(ops.convert_to_numpy(weights))
    model = LogisticRegression(C=C, max_iter=1000).fit(features, labels)
    kernel = np.zeros((size, num_classes), "float32")
    bias = np.zeros(num_classes, "float32")
    if num_classes == 2 and model.coef_.shape[0] == 1:  # binary: one row, the second class's
        kernel[:, 1], bias[1] = model.coef_[0], model.intercept_[0]
    else:
        kernel[:, model.classes_] = model.coef_.T
        bias[model.classes_] = model.intercept_
    layer.build((None, None))
    for variable, value in ((layer.idf, idf), (layer.kernel, kernel), (layer.bias, bias)):
        variable.assign(value)
    return layer

