"""The classical baseline of anomaly detection here: an isolation forest on the network's windows.

scikit-learn's `IsolationForest(n_estimators=200, random_state=0)` is fitted on the same
windows the autoencoder trains on (the series standardised, averaged in blocks of `downsample`,
every window of `window` values); a window's score is `-score_samples` (higher: more anomalous)
and a point's score the mean over the windows covering it, as for the network. The threshold is
chosen by the same rule (`model_zoo.metrics.anomaly.threshold_from_scores` on anomaly-free
held-out scores). What the anomaly recipe reports next to its test scores, and what a
fine-tuned detector is compared with (`AnomalyDetector.comparison_rows`).
"""

import numpy as np

from model_zoo.data.anomaly_series import downsample, point_scores, series_windows, upsample
from model_zoo.optional import import_optional

DESCRIPTION = "sklearn IsolationForest(200 trees, seed 0) on the network's windows"


def isolation_forest(windows, seed=0):
    """A fitted `IsolationForest` (200 trees) on windows `(n, window)` or `(n, window, 1)`."""
    import_optional("sklearn", "train", "The anomaly-detection baseline (isolation forest)")
    from sklearn.ensemble import IsolationForest

    windows = np.asarray(windows)
    forest = IsolationForest(n_estimators=200, random_state=seed)
    return forest.fit(windows.reshape(len(windows), -1))


def forest_scores(forest, scaled, window, factor=1):
    """Point scores of the standardised series `scaled` by `forest`.

    Args:
        forest: a fitted forest (`isolation_forest`).
        scaled: the series, standardised as the forest's training windows were.
        window: values per window (after block averaging).
        factor: the block length averaged first (the detector's `downsample`).

    Returns:
        `(len(scaled),)`: each point's mean window score (`-score_samples`).
    """
    scaled = np.asarray(scaled, dtype="float64")
    windows = series_windows(downsample(scaled, factor), window)[..., 0]
    coarse = point_scores(-forest.score_samples(windows), len(windows) + window - 1)
    return upsample(coarse, factor, scaled.size)
