"""Forecasters as graphs: the last values of a series in its units -> the next values."""

import numpy as np

from model_zoo import limits
from model_zoo.errors import InputError
from model_zoo.export.base import ServingGraph, exporter


@exporter("forecasting")
def forecasting_graph(task, horizon=None):
    """The forecaster's `forecast` over a batch of histories, in TensorFlow ops.

    The input is the last `task.history_needed` values of each series (in its units; a
    log-scaled forecaster needs them positive); the graph scales them with the checkpoint's
    scaler, runs the network `horizon / task.horizon` times (rounded up: forecasts are fed
    back in, as `forecast` does), applies the residual weight toward seasonal naive of a
    fine-tuned forecaster, and returns the forecasts in the series' units. A forecaster whose
    residual weight shrinks toward ETS is refused (`InputError`): ETS re-filters the whole
    history.

    Args:
        task: a `Forecaster`.
        horizon: the values each call forecasts (default: the model's horizon), fixed in the
            graph.
    """
    import tensorflow as tf

    if task.anchor is not None and task.residual_weight != 1.0:
        raise InputError(
            f"This forecaster blends its network with {task.anchor_name} (residual weight "
            f"{task.residual_weight}), which re-filters an ETS model over each whole history "
            "with statsmodels: a graph over a fixed window cannot hold that. Serve it from "
            "Python (`model-zoo serve`, `forecast`) instead. Received: anchor "
            f"{task.anchor_name}")
    horizon = task.horizon if horizon is None else limits.positive_int(horizon, "horizon")
    limits.check("horizon", horizon, "`horizon`")
    scaler, span, weight = task.scaler, task.history_needed, task.residual_weight
    log = scaler.transform == "log"

    def scale(raw):
        return ((tf.math.log(raw) if log else raw) - scaler.mean) / scaler.std

    def unscale(scaled):
        values = scaled * scaler.std + scaler.mean
        return tf.exp(values) if log else values

    def seasonal_naive(raw):  # As `models.forecasting.baselines.seasonal_naive`.
        index = raw.shape[1] - task.season + np.arange(task.horizon) % task.season
        return tf.gather(raw, index, axis=1)

    def forecast(history):
        raw = history
        if weight == 0.0:  # Exactly seasonal naive: the network is not run.
            while raw.shape[1] < span + horizon:
                raw = tf.concat([raw, seasonal_naive(raw)], 1)
            return {"forecast": raw[:, span:span + horizon]}
        scaled = scale(raw)
        while scaled.shape[1] < span + horizon:  # Unrolled: the block count is static.
            block = task.model(scaled[:, -task.lookback:, None], training=False)
            if weight != 1.0:
                naive = seasonal_naive(raw)
                raw = tf.concat([raw, naive + weight * (unscale(block) - naive)], 1)
                block = scale(raw[:, -task.horizon:])
            scaled = tf.concat([scaled, block], 1)
        out = raw if weight != 1.0 else unscale(scaled)
        return {"forecast": out[:, span:span + horizon]}

    t = np.arange(2 * span, dtype="float64")
    histories = np.stack([task.scaler.unscale(np.sin(2 * np.pi * (t + shift) / task.season)
                                              + 0.01 * t) for shift in (0, 3)])
    expected = np.stack([task.forecast(h, horizon) for h in histories])
    example = histories[:, -span:].astype("float32")
    return ServingGraph(
        forecast,
        inputs={"history": (tf.TensorSpec([None, span], tf.float32, name="history"),
                            f"the last {span} values of each series, oldest first, in the "
                            "series' units")},
        outputs={"forecast": f"float32 [batch, {horizon}]: the next {horizon} values, in the "
                             "series' units"},
        example={"history": example}, expected={"forecast": expected},
        # float32 graph against the float64 Python path, relative to the series' scale.
        tolerance={"forecast": 1e-4 * max(1.0, float(np.abs(expected).max()))},
        options={"horizon": horizon},
        notes=["Gaps (NaN) are not filled: interpolate them first (the Python verb's "
               "`fill_missing`)."] + (["The values must be positive (the model reads their "
                                       "logarithm)."] if log else []))
