"""Series-classification metrics: accuracy and macro F1 of label strings (scikit-learn)."""

import numpy as np

from model_zoo.optional import import_optional


def classification_metrics(labels, predicted):
    """`{"accuracy", "macro_f1", "series"}` of predicted against true label strings.

    Example:
    >>> classification_metrics(["a", "b", "b"], ["a", "b", "a"])["accuracy"]  # doctest: +ELLIPSIS
    0.666...
    """
    import_optional("sklearn", "train", "Series-classification accuracy and F1")
    from sklearn.metrics import accuracy_score, f1_score

    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
            "series": int(labels.size)}
