"""`strategy="auto"`: the fine-tuning strategy chosen on the user's validation split.

Which strategy fine-tunes best depends on the task and the data (on one tag set `full` lost
25 points to gradual unfreezing, on a weekly series it won; on some text tasks the same
network from random weights beat the pretrained one). So `finetune(strategy="auto")` trains a
small fixed list of candidates on the training part, measures each on the validation part
and keeps the best; the held-out test part of the comparison is never looked at. The
candidates (see `CANDIDATES`):

- `"gradual_unfreezing"`: `GradualUnfreezing` from the published weights;
- `"full"`: `FullFineTune` from the published weights;
- `"random"`: the same architecture from random weights (`Task.reinitialized`), `"full"`;
- `"zero_shot"`: no training at all (the published network with the preprocessing refitted to
  the user's data), where that is meaningful (forecasting).

`Task.finetune_with_strategy` (in `model_zoo.tasks.base`) runs them; this module holds what
needs no task: the names, the checks, the no-training strategy and the choice itself.
"""

import math
import time

from model_zoo.errors import InputError

AUTO = "auto"

#: What `strategy="auto"` uses when there is no validation split to choose on.
FALLBACK = "gradual_unfreezing"

#: Every candidate `strategy="auto"` knows, with what it trains (for the record).
CANDIDATES = {
    "gradual_unfreezing": "gradual unfreezing from the published weights",
    "full": "every layer at once from the published weights",
    "random": "the same architecture trained from random weights, every layer",
    "zero_shot": "no training: the published weights, preprocessing refitted to your data",
}


def is_auto(strategy):
    return isinstance(strategy, str) and strategy == AUTO


def check_strategy(strategy):
    """Raises an `InputError` for a strategy name that is neither `"auto"` nor one of
    `model_zoo.training.finetune.STRATEGIES` (objects with a `fit` method and None pass)."""
    from model_zoo.training.finetune import STRATEGIES, get_strategy

    if is_auto(strategy) or strategy is None:
        return strategy
    if isinstance(strategy, str) and strategy not in STRATEGIES:
        raise InputError(f"Unknown fine-tuning strategy; choose {AUTO!r} (the default: the best "
                         f"on your validation split) or one of {sorted(STRATEGIES)}. "
                         f"Received: strategy={strategy!r}")
    get_strategy(strategy)  # An object without `fit` is an error too.
    return strategy


def strategy_name(strategy):
    """How the record names an explicitly given strategy."""
    if strategy is None or isinstance(strategy, str):
        return strategy or FALLBACK
    return type(strategy).__name__


class NoTraining:
    """A strategy that trains nothing: the `"zero_shot"` candidate of `strategy="auto"`."""

    def fit(self, model, train, val, loss, epochs, metrics=None, groups=None, verbose=0):
        return {"stages": []}


def _finite(value):
    return value is not None and math.isfinite(value)


def choose(names, fit, score, higher_is_better):
    """Fits each candidate in turn and keeps the one with the best validation score.

    Args:
        names: the candidates, in order; a tie goes to the earlier one.
        fit: `fit(name) -> tuned task`.
        score: `score(tuned) -> float`, the validation metric (NaN or None never wins, unless
            every candidate has one: then the first is kept).
        higher_is_better: whether a larger score is better.

    Returns:
        `(name, tuned, scores, seconds)`: the winner, its fitted task, and every candidate's
        score (None where it was not finite) and training time in seconds.
    """
    best = best_tuned = None
    scores, seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        tuned = fit(name)
        value = score(tuned)
        value = float(value) if _finite(value) else None
        seconds[name] = round(time.perf_counter() - start, 2)
        scores[name] = value
        if best is None or (value is not None and (
                scores[best] is None
                or (value > scores[best] if higher_is_better else value < scores[best]))):
            best, best_tuned = name, tuned
    return best, best_tuned, scores, seconds
