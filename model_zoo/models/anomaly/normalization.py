"""How an anomaly detector puts a series on the scale its autoencoder was trained on.

The autoencoder was trained on series standardised to mean 0 and standard deviation 1, and
reconstructs nothing else well. Three ways to get a user's series there:

* `"checkpoint"`: the mean and std stored with the detector (those of its training part):
  exactly what the recipe trained and measured with, but a series at another level or in other
  units scores high everywhere (every point flagged, and a ranking that can even be inverted).
* `"series"`: a scaler refitted to the series being scored, robustly: the mean and std of the
  series winsorised at its 0.5% and 99.5% quantiles, so that a few extreme (anomalous) values
  hardly move them. Scores are then unchanged by a change of level or units (`a * x + b`,
  `a > 0`). The median and MAD were tried first: on spiky series (ECGs) the MAD is 8% to 50% of
  the std, so the network would see inputs up to 13 times larger than in training; the
  winsorised std stays within 2% of the std on every series tried.
* `"local"`: as `"series"`, but the level is first taken out by a centred rolling median over
  `level_window` values (a window of many periods, so the shapes the network scores stay), then
  the residual is standardised as in `"series"`. A slow drift of the level then changes the
  scores little, so a threshold chosen on earlier normal data still holds on later data.

The scale is fitted per call: scores and thresholds are in units of the scored series' own
typical variation.
"""

import numpy as np

from model_zoo.errors import InputError

MODES = ("checkpoint", "series", "local")
CLIP = 0.005  # winsorised at the 0.5% and 99.5% quantiles


def check_mode(mode):
    if mode not in MODES:
        raise InputError(f"`normalize` must be one of {list(MODES)}. Received: {mode!r}")
    return mode


def robust_stats(values):
    """`(center, scale)`: mean and std of `values` winsorised at their 0.5% and 99.5%
    quantiles (scale 1.0 for a constant series)."""
    values = np.asarray(values, dtype="float64")
    lo, hi = np.quantile(values, (CLIP, 1 - CLIP))
    clipped = np.clip(values, lo, hi)
    scale = float(np.std(clipped))
    return float(np.mean(clipped)), scale if scale > 0 and np.isfinite(scale) else 1.0


def rolling_level(values, window):
    """The centred rolling median over `window` values (shorter windows at the ends)."""
    import pandas as pd

    window = max(int(window), 1)
    return pd.Series(np.asarray(values, dtype="float64")).rolling(
        window, center=True, min_periods=1).median().to_numpy()


def normalize(values, mode, scaler, level_window):
    """The series `values` standardised by `mode` (see the module docstring).

    Args:
        values: the series, 1-D.
        mode: `"checkpoint"`, `"series"` or `"local"`.
        scaler: the detector's stored `StandardScaler` (used by `"checkpoint"`).
        level_window: values per rolling median (used by `"local"`).

    Returns:
        A float64 array shaped like `values`.
    """
    values = np.asarray(values, dtype="float64")
    if check_mode(mode) == "checkpoint":
        return scaler.scale(values)
    if mode == "local":
        values = values - rolling_level(values, level_window)
    center, scale = robust_stats(values)
    return (values - center) / scale
