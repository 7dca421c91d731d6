"""Point-forecast accuracy: MASE, sMAPE, RMSE (as in the M4 competition).

Written out here because they are three lines each and the formulas must match the published
definitions exactly (Hyndman & Koehler 2006; M4 sMAPE in percent); no maintained library offers
exactly these with a seasonal MASE scale.
"""

import numpy as np


def mase_scale(train, season):
    """Mean absolute error of the in-sample seasonal naive forecast (lag `season`) on `train`."""
    train = np.asarray(train, dtype="float64")
    m = season if train.size > season else 1
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    return float(scale) if scale > 0 else 1.0


def mase(y_true, y_pred, scale):
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))) / scale)


def smape(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, "float64"), np.asarray(y_pred, "float64")
    denom = np.abs(y_true) + np.abs(y_pred)
    ratio = np.where(denom == 0, 0.0, 2.0 * np.abs(y_true - y_pred) / np.where(denom == 0, 1, denom))
    return float(100.0 * np.mean(ratio))


def rmse(y_true, y_pred):
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def forecast_metrics(y_true, y_pred, scale):
    """`{"mase", "smape", "rmse"}` over all forecast points (pooled across origins)."""
    return {"mase": mase(y_true, y_pred, scale), "smape": smape(y_true, y_pred),
            "rmse": rmse(y_true, y_pred)}
