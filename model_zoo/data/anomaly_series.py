"""Labelled anomaly series shipped inside PyPI packages, and the window <-> point bookkeeping.

Each source returns a `LabelledSeries`: the values, a 0/1 label per point, and the end of the
training part (anomaly-free data the detector fits and picks its threshold on). Everything
after `train_end` is the test part.

A window detector scores windows of `window` consecutive values (of the series, or of its
block means when it is `downsample`d); `point_scores` turns those into one score per point (the
mean over the windows that cover it), so that the network and the isolation-forest baseline are
scored and thresholded the same way.
"""

import dataclasses
import os

import numpy as np

from model_zoo.data.arrays import array_dataset
from model_zoo.data.cache import package_dir
from model_zoo.data.timeseries import make_windows
from model_zoo.errors import InputError


@dataclasses.dataclass
class LabelledSeries:
    """A univariate series with per-point anomaly labels and a fixed train/test split.

    Args:
        name: short name.
        values: the series, float array.
        labels: 0/1 per point (1: anomaly).
        train_end: `values[:train_end]` is the anomaly-free training part.
        source, license: provenance.
        split_note: how the split was chosen.
    """

    name: str
    values: np.ndarray
    labels: np.ndarray
    train_end: int
    source: str
    license: str
    split_note: str

    def segments(self, start=0):
        """`[(first, last + 1), ...]` of the labelled anomalies at or after `start`."""
        edges = np.diff(np.concatenate([[0], self.labels[start:], [0]]))
        begins, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return [(int(b) + start, int(e) + start) for b, e in zip(begins, ends)]


def mitdb():
    """sktime's MIT-BIH ECG excerpt: 7,500 points, one labelled anomalous stretch (352 points).

    The first 3,000 points (all normal, about 8 s of ECG) train; the rest is the test part.
    """
    import pandas as pd
    import sktime

    path = os.path.join(package_dir("sktime"), "datasets", "data", "mitdb", "mitdb.csv")
    frame = pd.read_csv(path)
    labels = frame["label"].to_numpy(dtype="int64")
    train_end = 3000
    if labels[:train_end].any():
        raise InputError(f"{path} has anomalies in its training part. Received: {path}")
    return LabelledSeries(
        "mitdb", frame["data"].to_numpy(dtype="float64"), labels, train_end,
        f"sktime {sktime.__version__} datasets/data/mitdb/mitdb.csv: an ECG excerpt of the "
        "MIT-BIH Arrhythmia Database (Moody & Mark, 2001) with one labelled anomalous stretch",
        "ODC-By 1.0 (MIT-BIH Arrhythmia Database, PhysioNet)",
        "points [0, 3000) train (no anomaly), [3000, 7500) test")


def ucr135():
    """Series 135 of the UCR anomaly archive (Wu & Keogh, 2021) as shipped with aeon.

    The archive's own split: the first 1,200 points are the anomaly-free training part; the
    test part holds one labelled anomaly.
    """
    import aeon
    import pandas as pd

    folder = os.path.join(package_dir("aeon"), "datasets", "data", "KDD-TSAD_135")
    stem = "135_UCR_Anomaly_InternalBleeding16"
    full = pd.read_csv(os.path.join(folder, f"{stem}_TEST.csv"))
    train = pd.read_csv(os.path.join(folder, f"{stem}_TRAIN.csv"))
    return LabelledSeries(
        "ucr135", full["value"].to_numpy(dtype="float64"),
        full["is_anomaly"].to_numpy(dtype="int64"), len(train),
        f"aeon {aeon.__version__} datasets/data/KDD-TSAD_135/{stem}_{{TRAIN,TEST}}.csv: UCR "
        "time-series anomaly archive #135 (KDD Cup 2021), InternalBleeding16",
        "UCR Time Series Anomaly Archive, free for research use (cite Wu & Keogh, 2021)",
        f"the archive's split: points [0, {len(train)}) train (no anomaly), the rest test")


SOURCES = {"mitdb": mitdb, "ucr135": ucr135}


def load_labelled_series(name):
    if name not in SOURCES:
        raise InputError(f"Unknown anomaly series; available: {sorted(SOURCES)}. "
                         f"Received: {name!r}")
    return SOURCES[name]()


def downsample(values, factor):
    """Means of consecutive blocks of `factor` values (the last block padded with its last
    value), so that a window of fixed length spans `factor` times more of the series."""
    values = np.asarray(values, dtype="float64")
    if factor == 1:
        return values
    pad = (-values.size) % factor
    if pad:
        values = np.concatenate([values, np.repeat(values[-1], pad)])
    return values.reshape(-1, factor).mean(axis=1)


def upsample(scores, factor, n_points):
    """Per-point scores of the original series from the scores of its `downsample`d blocks."""
    return np.repeat(np.asarray(scores, dtype="float64"), factor)[:n_points]


def series_windows(values, window):
    """Every window of `window` consecutive values (stride 1), as `(n, window, 1)` float32."""
    x, _, _ = make_windows(np.asarray(values, dtype="float64"), window, 0)
    return x


def window_dataset(windows, batch_size, shuffle=False, seed=0):
    """A tf.data pipeline of `(window, window)` pairs: the autoencoder's input is its target."""
    return array_dataset(windows, windows, batch_size, shuffle=shuffle, seed=seed)


def point_scores(window_scores, n_points):
    """Per-point scores from per-window, per-position scores.

    Args:
        window_scores: `(n_windows, window)` (a score per position of each window) or
            `(n_windows,)` (one score per window, spread over its positions); window `k`
            covers points `[k, k + window)`.
        n_points: the series length, `n_windows + window - 1`.

    Returns:
        `(n_points,)`: each point's mean score over the windows that cover it.
    """
    window_scores = np.asarray(window_scores, dtype="float64")
    n_windows = window_scores.shape[0]
    window = n_points - n_windows + 1
    if window_scores.ndim == 1:
        window_scores = np.repeat(window_scores[:, None], window, axis=1)
    sums = np.zeros(n_points)
    counts = np.zeros(n_points)
    for offset in range(window):  # Vectorised over windows; the loop runs `window` times.
        sums[offset:offset + n_windows] += window_scores[:, offset]
        counts[offset:offset + n_windows] += 1
    return sums / counts
