"""Point-wise anomaly-detection metrics (scikit-learn) and the UCR archive's hit score.

`anomaly_metrics(labels, scores, threshold)`: precision, recall and F1 of the points flagged
(`score > threshold`) against the labelled anomalous points, and the threshold-free ROC-AUC
of the scores. `ucr_hit` is the UCR anomaly archive's score (Wu & Keogh, 2021): does the single
highest-scoring point fall in the labelled anomaly, widened by `margin` points on each side?
"""

import numpy as np

from model_zoo.optional import import_optional


def anomaly_metrics(labels, scores, threshold):
    """`{"precision", "recall", "f1", "roc_auc", "flagged", "anomalies", "points"}`.

    ROC-AUC is None when the labels hold a single class (no anomaly, or nothing else).
    """
    import_optional("sklearn", "train", "Anomaly-detection metrics")
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    labels = np.asarray(labels, dtype="int64")
    scores = np.asarray(scores, dtype="float64")
    flags = (scores > threshold).astype("int64")
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, flags, average="binary", zero_division=0)
    auc = float(roc_auc_score(labels, scores)) if 0 < labels.sum() < labels.size else None
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "roc_auc": auc, "flagged": int(flags.sum()), "anomalies": int(labels.sum()),
            "points": int(labels.size)}


def ucr_hit(labels, scores, margin=100):
    """1.0 if the top-scoring point lies within `margin` points of a labelled anomaly, else 0.0."""
    labels = np.asarray(labels, dtype="int64")
    anomalous = np.flatnonzero(labels)
    if anomalous.size == 0:
        return None
    top = int(np.argmax(scores))
    return float(np.min(np.abs(anomalous - top)) <= margin)


def threshold_from_scores(scores, quantile):
    """The detection threshold: the `quantile` of scores on anomaly-free training data."""
    return float(np.quantile(np.asarray(scores, dtype="float64"), quantile))
