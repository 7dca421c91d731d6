"""Sequence-tagging metrics: token accuracy, accuracy on unseen words, entity-level P/R/F1.

Entity-level scores use seqeval (`seqeval.metrics`, default mode), which follows the CoNLL
`conlleval` script: an entity counts only if its type and both boundaries are right; BIO and
BIOES tags are both understood.
"""

import numpy as np

from model_zoo.errors import InputError
from model_zoo.optional import import_optional


def _flat(nested):
    return [x for row in nested for x in row]


def tagging_metrics(tokens, gold, predicted, scheme="tags", seen=None, known=None):
    """Scores predicted tags against gold tags.

    Args:
        tokens: a list of token lists (one per sentence).
        gold, predicted: lists of tag lists, aligned with `tokens`.
        scheme: `"BIO"` or `"BIOES"` adds entity-level `precision`, `recall`, `f1`.
        seen: a predicate `token -> bool`, true for words seen in training; adds
            `unseen_accuracy` and `unseen_tokens` (accuracy on the other tokens).
        known: a predicate, true for words in the model's vocabulary; adds `oov_accuracy` and
            `oov_tokens` (accuracy on tokens the model had no embedding for).

    Returns:
        `{"accuracy", "tokens", ...}`.

    Example:
    >>> tagging_metrics([["a", "b"]], [["X", "Y"]], [["X", "X"]])
    {'accuracy': 0.5, 'tokens': 2}
    """
    if not (len(tokens) == len(gold) == len(predicted)):
        raise InputError(f"Need as many gold and predicted tag lists as sentences "
                         f"({len(tokens)}). Received: {len(gold)} and {len(predicted)}")
    for i, (t, g, p) in enumerate(zip(tokens, gold, predicted)):
        if not (len(t) == len(g) == len(p)):
            raise InputError(f"Sentence {i}: {len(t)} tokens, {len(g)} gold and {len(p)} "
                             f"predicted tags. Received: {t[:5]}")
    flat_tokens = _flat(tokens)
    right = np.array([g == p for g, p in zip(_flat(gold), _flat(predicted))], dtype=bool)
    if right.size == 0:
        raise InputError("No tokens to score. Received: 0 tokens")
    out = {"accuracy": float(right.mean()), "tokens": int(right.size)}
    for key, predicate in (("unseen", seen), ("oov", known)):
        if predicate is None:
            continue
        chosen = np.array([not predicate(t) for t in flat_tokens], dtype=bool)
        out[f"{key}_accuracy"] = float(right[chosen].mean()) if chosen.any() else float("nan")
        out[f"{key}_tokens"] = int(chosen.sum())
    if scheme in ("BIO", "BIOES"):
        out.update(entity_scores(gold, predicted))
    return out


def entity_scores(gold, predicted):
    """Entity-level micro precision, recall and F1 (seqeval, conlleval semantics)."""
    import_optional("seqeval", "train", "Entity-level tagging scores")
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold, predicted = [list(g) for g in gold], [list(p) for p in predicted]
    return {"precision": float(precision_score(gold, predicted, zero_division=0)),
            "recall": float(recall_score(gold, predicted, zero_division=0)),
            "f1": float(f1_score(gold, predicted, zero_division=0))}
