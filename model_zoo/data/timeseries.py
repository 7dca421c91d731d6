"""The time-series pipeline: reading a user's series, checking it, windowing it with tf.data.

The recipe, `forecast` and `finetune` all go through these functions, so a user's CSV is
prepared exactly as the training data was.
"""

import math
import os

import numpy as np

from model_zoo.data.arrays import array_dataset
from model_zoo.errors import InputError


def read_csv_frame(path, **read_options):
    """`pandas.read_csv(path, **read_options)`, with a missing or unreadable file an InputError."""
    import pandas as pd

    if not os.path.isfile(path):
        raise InputError(f"No such CSV file. Received: {path!r}")
    try:
        return pd.read_csv(path, **read_options)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise InputError(f"Could not read {path} as CSV: {e}. Received: {path!r}") from None


def read_series_csv(path, column, fill_missing=None):
    """Reads one numeric column of a CSV file as a float array.

    Args:
        path: the CSV file (with a header row).
        column: the column to read.
        fill_missing: `None` (a gap is an error) or `"interpolate"` (linear, inside the series).

    Raises:
        InputError: the file is unreadable, the column is missing, a value is not a number, or
            there are gaps and `fill_missing` is None; the message names the row.
    """
    frame = read_csv_frame(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    if column not in frame.columns:
        raise InputError(
            f"Column {column!r} is not in {path}; its columns are {list(frame.columns)}. "
            f"Received: column={column!r}"
        )
    raw = frame[column].str.strip()
    values = np.empty(len(raw), dtype="float64")
    for i, text in enumerate(raw):
        if not isinstance(text, str) or text in ("", "NA", "NaN", "nan", "null", "None"):
            values[i] = np.nan
            continue
        try:
            values[i] = float(text)
        except ValueError:
            raise InputError(
                f"Column {column!r} of {path} must hold numbers, but line {i + 2} holds "
                f"{text!r}. Received: {text!r}"
            ) from None
    return check_series(values, fill_missing=fill_missing, where=f"column {column!r} of {path}")


def as_series(data, column=None, fill_missing=None):
    """Turns a list, NumPy array, pandas Series/DataFrame column or CSV path into a float array."""
    if isinstance(data, (str, os.PathLike)):
        if column is None:
            raise InputError(
                f"Reading a series from a CSV file needs `column=`. Received: {os.fspath(data)!r}"
            )
        return read_series_csv(os.fspath(data), column, fill_missing=fill_missing)
    if hasattr(data, "columns"):  # a DataFrame
        if column is None or column not in data.columns:
            raise InputError(
                f"Pick a column of the DataFrame with `column=`; it has {list(data.columns)}. "
                f"Received: column={column!r}"
            )
        data = data[column]
    if data is None:
        raise InputError("Expected a series of numbers (list, NumPy array, pandas Series or a "
                         "CSV path with `column=`). Received: None")
    try:
        values = np.asarray(data, dtype="float64")
    except (TypeError, ValueError) as e:
        raise InputError(
            f"A series must be numbers (list, NumPy array or pandas Series): {e}. "
            f"Received: {type(data).__name__}"
        ) from None
    if values.ndim != 1:
        raise InputError(
            f"A series must be one-dimensional. Received: an array of shape {values.shape}"
        )
    return check_series(values, fill_missing=fill_missing)


FILL_MISSING = (None, "interpolate")
FLOAT32_MAX = float(np.finfo("float32").max)


def check_series(values, fill_missing=None, where="the series"):
    """Rejects infinities, values the float32 models cannot hold and, unless
    `fill_missing="interpolate"`, gaps (NaN)."""
    if fill_missing not in FILL_MISSING:
        raise InputError(f"`fill_missing` must be one of {FILL_MISSING}. "
                         f"Received: fill_missing={fill_missing!r}")
    if values.size == 0:
        raise InputError(f"{where} is empty. Received: 0 values")
    if np.isinf(values).any():
        i = int(np.flatnonzero(np.isinf(values))[0])
        raise InputError(f"{where} holds an infinite value at position {i}. Received: {values[i]}")
    huge = np.flatnonzero(np.abs(np.nan_to_num(values)) > FLOAT32_MAX)
    if huge.size:
        i = int(huge[0])
        raise InputError(f"{where} holds a value at position {i} beyond the float32 range the "
                         f"models compute in (|x| <= {FLOAT32_MAX:.4g}). Received: {values[i]}")
    gaps = np.flatnonzero(np.isnan(values))
    if gaps.size:
        if fill_missing != "interpolate":
            shown = ", ".join(str(int(g)) for g in gaps[:5]) + (" ..." if gaps.size > 5 else "")
            raise InputError(
                f"{where} has {gaps.size} missing values (gaps/NaN) at positions {shown}; "
                "fill them first or pass fill_missing='interpolate'. "
                f"Received: {gaps.size} NaN of {values.size}"
            )
        values = interpolate_gaps(values)
    return values


def interpolate_gaps(values):
    """Linear interpolation over NaN gaps; gaps at the ends take the nearest value."""
    values = np.array(values, dtype="float64")
    missing = np.isnan(values)
    if missing.all():
        raise InputError("The series has no values at all. Received: only NaN")
    index = np.arange(values.size)
    values[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return values


def require_length(values, needed, what):
    if values.size < needed:
        raise InputError(
            f"The series is too short for {what}: it needs at least {needed} values. "
            f"Received: {values.size} values"
        )


def make_windows(values, lookback, horizon, start=None, stop=None, stride=1):
    """NumPy windows `(x, y)` whose targets start in `[start, stop)`.

    `x[i]` is the `lookback` values before target start `t`, `y[i]` the `horizon` values from
    `t`. `start` defaults to `lookback`; `stop` to the last start with a full target.
    """
    start = lookback if start is None else max(start, lookback)
    last = values.size - horizon
    stop = last + 1 if stop is None else min(stop, last + 1)
    origins = np.arange(start, stop, stride)
    if origins.size == 0:
        return (np.zeros((0, lookback, 1), "float32"), np.zeros((0, horizon), "float32"),
                origins)
    x = np.stack([values[t - lookback:t] for t in origins])[..., None].astype("float32")
    y = np.stack([values[t:t + horizon] for t in origins]).astype("float32")
    return x, y, origins


def windows_dataset(values, lookback, horizon, batch_size, start=None, stop=None,
                    shuffle=False, seed=0):
    """A tf.data pipeline of `(x, y)` training windows (see `make_windows`)."""
    x, y, _ = make_windows(values, lookback, horizon, start=start, stop=stop)
    return array_dataset(x, y, batch_size, shuffle=shuffle, seed=seed)


def rolling_origins(n, test_size, horizon):
    """Forecast origins that tile the last `test_size` points in blocks of `horizon`."""
    first = n - test_size
    return list(range(first, n - horizon + 1, horizon))


def detect_season(values, max_season=None, min_autocorrelation=0.3, hint=None):
    """The season of a series, read from it: the lag of the strongest peak of the
    autocorrelation of its first differences, or 1 when there is none (no season: seasonal
    naive is then the naive forecast). Seasons of 3 values and more are found.

    Differencing takes out a trend, whose own slowly decaying autocorrelation would hide the
    seasonal peaks. A peak counts when it is a local maximum reaching `min_autocorrelation` (and
    the 5% significance band, 2 / sqrt(n)) and rising as much above the lowest value between
    lag 2 and itself; a peak at a whole fraction of the strongest
    (within one value per multiple) that reaches 80% of its height is preferred, so a series of
    season 12 is not given 24. The autocorrelation is three lines of NumPy (FFT), rather than statsmodels'
    `acf`, so that fine-tuning needs no extra package.

    Args:
        values: the series (1-D, no gaps).
        max_season: the longest season considered (default: a third of the values, so at
            least three seasons are seen).
        min_autocorrelation: the height a peak must reach.
        hint: a season to prefer (a model's own) where the strongest peak is about a whole
            multiple of it and the autocorrelation at `hint` reaches 80% of that peak: on the
            weekly CO2 series (52.18 weeks a year) the noisy peaks at 53, 104 and 156 weeks
            differ by 10%.

    Returns:
        An int >= 1.

    Example:
    >>> t = np.arange(240)
    >>> detect_season(0.1 * t + np.sin(2 * np.pi * t / 12))
    12
    """
    x = np.diff(np.asarray(values, dtype="float64"))
    n = x.size
    max_season = min(n // 3, max_season or n // 3)
    x = x - x.mean()
    if max_season < 3 or not np.any(x):
        return 1
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:max_season + 2]
    acf = acf / acf[0]
    height = max(min_autocorrelation, 2 / math.sqrt(n))
    # A peak rises by `height` from a trough at a lag >= 2 before it: the noise of the
    # differences pushes lag 1 down, which alone would make lag 2 look like a peak.
    peaks = [lag for lag in range(3, max_season + 1)
             if acf[lag] >= height and acf[lag] > acf[lag - 1] and acf[lag] >= acf[lag + 1]
             and acf[lag] - acf[2:lag].min() >= height]
    if not peaks:
        return 1
    best = max(peaks, key=lambda lag: acf[lag])
    # A peak at about a whole multiple of a shorter one (a season of 52.18 weeks peaks at 52,
    # 104 and 157) is that shorter season repeated.
    def repeats_into_best(lag):
        return (abs(best - round(best / lag) * lag) <= round(best / lag)
                and acf[lag] >= 0.8 * acf[best])

    if hint is not None and 3 <= hint <= max_season and repeats_into_best(hint):
        return hint
    return next(lag for lag in peaks if repeats_into_best(lag))


class StandardScaler:
    """Mean/std scaling with an optional log transform, stored in the checkpoint.

    Args:
        mean, std: statistics of the (transformed) training series.
        transform: `"none"` or `"log"` (for positive series with multiplicative seasonality).
    """

    def __init__(self, mean=0.0, std=1.0, transform="none"):
        if transform not in ("none", "log"):
            raise InputError(f"transform must be 'none' or 'log'. Received: {transform!r}")
        self.mean, self.std, self.transform = float(mean), float(std), transform

    @classmethod
    def fit(cls, values, transform="none"):
        t = cls._forward(values, transform)
        std = float(np.std(t))
        return cls(float(np.mean(t)), std if std > 0 and math.isfinite(std) else 1.0, transform)

    @staticmethod
    def _forward(values, transform):
        values = np.asarray(values, dtype="float64")
        if transform == "log":
            if (values <= 0).any():
                raise InputError(
                    "This model log-transforms its input, so every value must be positive. "
                    f"Received: minimum {values.min()}"
                )
            return np.log(values)
        return values

    def scale(self, values):
        return (self._forward(values, self.transform) - self.mean) / self.std

    def unscale(self, scaled):
        values = np.asarray(scaled, dtype="float64") * self.std + self.mean
        return np.exp(values) if self.transform == "log" else values

    def to_dict(self):
        return {"mean": self.mean, "std": self.std, "transform": self.transform}

    @classmethod
    def from_dict(cls, d):
        return cls(d["mean"], d["std"], d.get("transform", "none"))
