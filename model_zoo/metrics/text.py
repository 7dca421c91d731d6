"""Text metrics: classification accuracy and F1 (scikit-learn), language-model cross-entropy."""

import math

import numpy as np

from model_zoo.optional import import_optional


def classification_metrics(y_true, y_pred, num_classes, names=None):
    """Accuracy and F1 (binary: of class 1; more classes: macro) with scikit-learn.

    With `names` (the label of each class index) the F1 is also given per class, keyed by
    label (`f1_per_class`), with the macro F1 (`macro_f1`) and the label `f1` refers to
    (`f1_label`: the second label, or `"macro"`).
    """
    import_optional("sklearn", "train", "Text-classification accuracy and F1")
    from sklearn.metrics import accuracy_score, f1_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    average = "binary" if num_classes == 2 else "macro"
    metrics = {"accuracy": float(accuracy_score(y_true, y_pred)),
               "f1": float(f1_score(y_true, y_pred, average=average,
                                    labels=list(range(num_classes)) if average == "macro"
                                    else None, zero_division=0))}
    if names is not None:
        per_class = f1_score(y_true, y_pred, labels=list(range(num_classes)), average=None,
                             zero_division=0)
        metrics.update(f1_label=str(names[1]) if num_classes == 2 else "macro",
                       macro_f1=float(np.mean(per_class)),
                       f1_per_class={str(n): float(v) for n, v in zip(names, per_class)})
    return metrics


def log_softmax(logits):
    logits = logits - logits.max(axis=-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def cross_entropy_sum(logits, targets):
    """Sum over positions of -log p(target) (nats), from `(..., vocab)` logits."""
    logp = log_softmax(np.asarray(logits, dtype="float64"))
    return float(-np.take_along_axis(logp, np.asarray(targets)[..., None], axis=-1).sum())


def language_model_metrics(nats, count, unit="char"):
    """`nats_per_<unit>`, `bits_per_<unit>` and perplexity from a total in nats."""
    per = nats / max(count, 1)
    return {f"nats_per_{unit}": per, f"bits_per_{unit}": per / math.log(2),
            "perplexity": math.exp(per), f"{unit}s": int(count)}
