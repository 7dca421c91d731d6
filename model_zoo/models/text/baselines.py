"""The classical baseline of text classification: TF-IDF of word 1-2 grams + logistic regression.

Fitted on the training texts only; what a fine-tuned classifier is compared with
(`TextClassifier.comparison_rows`). The sentiment recipe's baseline is the same model with
`min_df=2` (a word pair seen once in 25,000 reviews is noise; in a few hundred user texts it is
much of the signal).
"""

from model_zoo.optional import import_optional

DESCRIPTION = "TF-IDF word 1-2 grams (sublinear tf) + logistic regression (C=4)"


def tfidf_logistic_regression(texts, labels, min_df=1, C=4.0):
    """A fitted scikit-learn pipeline: `.predict(texts)` gives labels like `labels`."""
    import_optional("sklearn", "train",
                    "The text-classification baseline (TF-IDF + logistic regression)")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True,
                        strip_accents="unicode"),
        LogisticRegression(C=C, max_iter=1000))
    return pipeline.fit(list(texts), list(labels))
