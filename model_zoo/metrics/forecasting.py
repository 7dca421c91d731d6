"""Point-forecast accuracy: MASE, sMAPE, RMSE (as in the M4 competition).

sktime's `mean_absolute_scaled_error(y_true, y_pred, y_train=train, sp=season)` is the seasonal
MASE `mase(y_true, y_pred, mase_scale(train, season))`, and its
`mean_absolute_percentage_error(..., symmetric=True)` (times 100) is `smape`: the same numbers to
every digit (tests/test_forecasting.py checks that for several seasons). They are written out
here, a few lines each, so that forecasting at inference time does not import sktime (seconds of
start-up and a large dependency for three formulas: Hyndman & Koehler 2006; M4 sMAPE in
percent). Where the scale is undefined the two differ on purpose: a history no longer than one
season is scaled by the lag-1 naive error (sktime raises), and a constant history, whose naive
error is 0, by 1 (sktime divides by machine epsilon).
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
