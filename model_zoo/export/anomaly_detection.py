"""Anomaly detectors as graphs: raw series -> a score and a flag per point."""

import numpy as np

from model_zoo import limits
from model_zoo.errors import InputError
from model_zoo.export.base import ServingGraph, exporter
from model_zoo.models.anomaly import normalization


def _quantiles(sorted_values, count, q):
    """NumPy's default (linear) quantile `q` of each row's first `count` sorted values."""
    import tensorflow as tf

    position = q * tf.cast(count - 1, tf.float32)
    low = tf.cast(tf.floor(position), tf.int32)
    high = tf.minimum(low + 1, count - 1)
    fraction = position - tf.cast(low, tf.float32)
    take = lambda i: tf.gather(sorted_values, i, axis=-1, batch_dims=len(i.shape))  # noqa: E731
    return take(low) * (1 - fraction) + take(high) * fraction


def _robust_standardised(values):
    """`values` (rows) standardised as `normalization.robust_stats`: the mean and std of each
    row winsorised at its 0.5% and 99.5% quantiles (std 1 for a constant row)."""
    import tensorflow as tf

    ordered = tf.sort(values, axis=-1)
    count = tf.fill(tf.shape(values)[:-1], tf.shape(values)[-1])
    low = _quantiles(ordered, count, normalization.CLIP)[..., None]
    high = _quantiles(ordered, count, 1 - normalization.CLIP)[..., None]
    clipped = tf.clip_by_value(values, low, high)
    center = tf.reduce_mean(clipped, -1, keepdims=True)
    scale = tf.math.reduce_std(clipped, -1, keepdims=True)
    return (values - center) / tf.where(scale > 0, scale, 1.0)


def _rolling_median(values, window):
    """`normalization.rolling_level` per row: the centred rolling median over `window` values,
    shorter windows at the ends (pandas' `rolling(window, center=True, min_periods=1)`).

    The windows are framed with `+inf` beyond the ends; sorted, those sort last, so each
    window's median is read from its first `count` values. Memory: `window` floats per value.
    """
    import tensorflow as tf

    before, after = window // 2, window - window // 2 - 1
    padded = tf.pad(values, [[0, 0], [before, after]], constant_values=np.inf)
    frames = tf.sort(tf.signal.frame(padded, window, 1), axis=-1)
    count = tf.reduce_sum(tf.cast(tf.math.is_finite(frames), tf.int32), -1)
    return _quantiles(frames, count, 0.5)


#: Windows per call of the autoencoder inside the graph: a fixed batch keeps TFLite's loops in
#: its builtin ops and its file small (one call on every window folded zero states of that
#: many rows into constants: 64 MB at 7,501 values), and bounds the memory of long series.
CHUNK = 256


def _reconstruct(model, windows):
    """The autoencoder's reconstruction of `windows` (rows), `CHUNK` rows per call."""
    import tensorflow as tf

    count = tf.shape(windows)[0]
    padded = tf.pad(windows, [[0, (-count) % CHUNK], [0, 0]])
    chunks = tf.reshape(padded, [-1, CHUNK, windows.shape[1], 1])
    out = tf.map_fn(lambda chunk: model(chunk, training=False)[..., 0], chunks,
                    fn_output_signature=tf.TensorSpec([CHUNK, windows.shape[1]], tf.float32))
    return tf.reshape(out, [-1, windows.shape[1]])[:count]


@exporter("anomaly_detection")
def anomaly_detection_graph(task, normalize=None, length=None):
    """The detector's `score` and `detect` over a batch of series, in TensorFlow ops.

    Each series is standardised as `normalize` says (default: the detector's), averaged in
    blocks of `downsample`, cut into every window of `window` values, reconstructed by the
    autoencoder; a point's score is its squared error averaged over the windows covering it
    (`tf.signal.overlap_and_add`), as `AnomalyDetector.score` does.

    Args:
        task: an `AnomalyDetector`.
        normalize: `"checkpoint"`, `"series"` or `"local"` (see
            `model_zoo.models.anomaly.normalization`), fixed in the graph.
        length: the number of values of each series, fixed in the graph; default: any
            (the same within a batch). TFLite needs it fixed.
    """
    import tensorflow as tf

    mode = normalization.check_mode(task.normalize if normalize is None else normalize)
    if length is not None:
        length = limits.positive_int(length, "length")
        limits.check("series_values", length, "`length`")
        if length < task.span:
            raise InputError(f"`length` must be at least this detector's window of "
                             f"{task.span} values. Received: length={length}")
    scaler, factor, window = task.scaler, task.downsample, task.window

    def standardised(values):
        if mode == "checkpoint":
            logged = tf.math.log(values) if scaler.transform == "log" else values
            return (logged - scaler.mean) / scaler.std
        if mode == "local":
            values = values - _rolling_median(values, task.level_window)
        return _robust_standardised(values)

    def score(series):
        n = tf.shape(series)[1]
        x = standardised(series)
        if factor > 1:  # `downsample`: block means, the last block padded with its last value.
            pad = (-n) % factor
            x = tf.concat([x, tf.repeat(x[:, -1:], pad, axis=1)], 1)
            x = tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1, factor]), -1)
        windows = tf.signal.frame(x, window, 1)  # (batch, n_windows, window)
        flat = tf.reshape(windows, [-1, window])
        errors = tf.reshape(tf.square(_reconstruct(task.model, flat) - flat), tf.shape(windows))
        if task.aggregation == "window":  # Each window's mean error over all its points.
            errors = tf.broadcast_to(tf.reduce_mean(errors, -1, keepdims=True), tf.shape(errors))
        # Each point's mean over the windows covering it (`point_scores`): the sums by
        # overlap-add, the counts in closed form (folded into a constant, an overlap-add of
        # ones made the TFLite file grow with the series: 64 MB at 7,501 values).
        points = tf.shape(errors)[1] + window - 1
        position = tf.range(points)
        covering = tf.minimum(tf.minimum(position + 1, points - position),
                              tf.minimum(window, tf.shape(errors)[1]))
        coarse = tf.signal.overlap_and_add(errors, 1) / tf.cast(covering, errors.dtype)
        scores = tf.repeat(coarse, factor, axis=1)[:, :n] if factor > 1 else coarse
        return {"scores": scores, "flags": scores > task.threshold}

    points = length or 3 * task.span
    t = np.arange(points, dtype="float64")
    rows = [task.scaler.unscale(np.sin(2 * np.pi * t / max(task.span // 2, 2)) + 0.1 * k)
            for k in (0, 1)]
    rows[1][points // 2] += 5 * (task.scaler.std or 1.0)  # An anomaly to flag.
    expected = np.stack([task.score(r, normalize=mode) for r in rows])
    return ServingGraph(
        score,
        inputs={"series": (tf.TensorSpec([None, length], tf.float32, name="series"),
                           f"a batch of series of {length or 'the same number of'} values "
                           f"(at least {task.span}), in their units")},
        outputs={"scores": "float32 [batch, values]: each point's anomaly score",
                 "flags": f"bool [batch, values]: score > the detector's threshold "
                          f"{task.threshold:.6g}"},
        example={"series": np.stack(rows).astype("float32")},
        expected={"scores": expected},
        tolerance={"scores": 1e-4 * max(1.0, float(np.abs(expected).max()))},
        options={"normalize": mode, "length": length},
        # TFLite's recurrent loops need a fixed batch: here, the series' windows.
        tflite_unsupported=None if length else "TFLite needs a fixed series length: pass "
                                               "length=N (`--length N`)",
        notes=["Gaps (NaN) are not filled: interpolate them first."] + (
            [f"Standardised with a rolling median of {task.level_window} values: memory "
             "grows with that many floats per value."] if mode == "local" else []))
