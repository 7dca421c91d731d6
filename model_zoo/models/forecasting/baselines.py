"""Classical forecasting baselines, computed with statsmodels on the same origins as the LSTM.

Each baseline is fitted once on the history before the test period, then, at every forecast
origin, re-filtered over the history up to that origin with its parameters held fixed (no peek
at the test values), and asked for `horizon` steps. Models are picked by AIC among a few fixed,
standard specifications (ETS: additive errors with each trend and season form; ARIMA: 4 to 6
orders, see `arima_grid`), a smaller search than stepwise procedures such as
`pmdarima.auto_arima`.
"""

import itertools
import time
import warnings

import numpy as np

from model_zoo.optional import import_optional


def seasonal_naive(history, horizon, season):
    """The seasonal-naive forecast `y[h] = x[T - m + h mod m]` of `history` (its last axis is
    time, so a `(rows, T)` array gives one forecast per row)."""
    history = np.asarray(history)
    index = history.shape[-1] - season + (np.arange(horizon) % season)
    return history[..., index]


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return ctx


def fit_ets(fit_values, season):
    """Auto-ETS: additive errors; trend none/additive/damped; seasonality none/additive/mult
    (multiplicative only for positive values, seasonal forms only for `season` > 1), the form
    with the lowest AIC.

    Returns:
        `{"form": ETSModel's keyword arguments, "params": [...], "label": "ETS(A,Ad,M)"}`, all
        JSON (a fine-tuned forecaster stores it as its anchor, see `ets_forecast`), or None
        when no form could be fitted.
    """
    import_optional("statsmodels", "train", "The ETS forecasting baseline")
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fit_values = np.asarray(fit_values, "float64")
    positive = bool((fit_values > 0).all())
    seasonal_options = [None] + ((["add"] + (["mul"] if positive else [])) if season > 1 else [])
    trend_options = [(None, False), ("add", False), ("add", True)]
    best = None
    ctx = _quiet()
    try:
        for (trend, damped), seasonal in itertools.product(trend_options, seasonal_options):
            form = dict(error="add", trend=trend, damped_trend=damped, seasonal=seasonal,
                        seasonal_periods=season if seasonal else None)
            try:
                result = ETSModel(fit_values, **form).fit(disp=False, maxiter=200)
            except Exception:  # statsmodels raises a zoo of errors on degenerate specs.
                continue
            if np.isfinite(result.aic) and (best is None or result.aic < best[0]):
                best = (result.aic, form, result.params)
    finally:
        ctx.__exit__(None, None, None)
    if best is None:
        return None
    _, form, params = best
    label = f"ETS({form['error'][0].upper()},{(form['trend'] or 'N')[0].upper()}" \
            f"{'d' if form['damped_trend'] else ''},{(form['seasonal'] or 'N')[0].upper()})"
    return {"form": form, "params": [float(p) for p in params], "label": label}


def ets_forecast(fitted, history, horizon):
    """The `horizon`-step forecast of an ETS model fitted by `fit_ets` after re-filtering it
    over `history` with its parameters held fixed (the initial states included: the filter
    starts at `history[0]`)."""
    import_optional("statsmodels", "train", "The ETS forecast")
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    ctx = _quiet()
    try:
        model = ETSModel(np.asarray(history, "float64"), **fitted["form"])
        return np.asarray(model.smooth(np.asarray(fitted["params"])).forecast(horizon))
    finally:
        ctx.__exit__(None, None, None)


def ets_forecaster(fit_values, season):
    """`(forecast(history, horizon), label)` of `fit_ets`'s model, or `(None, None)`."""
    fitted = fit_ets(fit_values, season)
    if fitted is None:
        return None, None
    return (lambda history, horizon: ets_forecast(fitted, history, horizon)), fitted["label"]


def fourier_terms(start, stop, periods, harmonics=4):
    """Sine/cosine pairs of each period over time steps `[start, stop)`: ARIMA's seasonal exog."""
    t = np.arange(start, stop, dtype="float64")[:, None]
    columns = []
    for period in periods:
        k = np.arange(1, min(harmonics, period // 2) + 1, dtype="float64")[None, :]
        columns += [np.sin(2 * np.pi * k * t / period), np.cos(2 * np.pi * k * t / period)]
    return np.concatenate(columns, axis=1)


def arima_grid(season, seasonal=True, fourier=False):
    """The fixed `(order, seasonal_order, trend)` specifications `arima_forecaster` chooses
    among by AIC: with Fourier regressors (long seasons), seasonal ARIMA with the airline
    model's seasonal part (short seasons), or non-seasonal ARIMA up to AR(9) (sunspots)."""
    if fourier:
        return [((1, 0, 1), (0, 0, 0, 0), "c"), ((2, 0, 0), (0, 0, 0, 0), "c"),
                ((1, 1, 1), (0, 0, 0, 0), None), ((2, 1, 1), (0, 0, 0, 0), None)]
    if seasonal and season > 1:
        return [((0, 1, 1), (0, 1, 1, season), None), ((1, 0, 1), (0, 1, 1, season), None),
                ((2, 0, 0), (0, 1, 1, season), None), ((1, 1, 1), (0, 1, 1, season), None)]
    return [((2, 0, 0), (0, 0, 0, 0), "c"), ((3, 0, 0), (0, 0, 0, 0), "c"),
            ((2, 0, 1), (0, 0, 0, 0), "c"), ((2, 0, 2), (0, 0, 0, 0), "c"),
            ((9, 0, 0), (0, 0, 0, 0), "c"), ((1, 1, 1), (0, 0, 0, 0), None)]


def arima_grid_note(grid):
    """What the chosen ARIMA's label adds: that it won an AIC comparison of a few fixed orders."""
    return f", lowest AIC of {len(grid)} fixed orders"


def arima_forecaster(fit_values, season, seasonal=True, log=False, fourier_periods=None,
                     max_seconds=600):
    """ARIMA picked by AIC among a few fixed orders (`arima_grid`: 4 to 6 specifications, not
    a stepwise search over p and q such as `pmdarima.auto_arima` or R's `auto.arima`); its label
    says so: "log-ARIMA(1, 0, 1)(0, 1, 1)[12], lowest AIC of 4 fixed orders".

    Short seasons use seasonal ARIMA (the airline model is in the grid). Long seasons (e.g. 48
    half-hours, 52 weeks) use dynamic harmonic regression instead: non-seasonal ARIMA errors with
    Fourier terms of each period in `fourier_periods` as regressors, the standard treatment of
    long seasonal periods (Hyndman & Athanasopoulos, FPP3 section 12.1), since a lag-52 seasonal
    ARIMA takes hours to fit here. With `log=True` the model is fitted to log values and
    forecasts are exponentiated, as in Box & Jenkins' airline model.
    """
    import_optional("statsmodels", "train", "The ARIMA forecasting baseline")
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    transform = np.log if log else np.asarray
    fit_values = transform(np.asarray(fit_values, "float64"))
    exog = (lambda a, b: fourier_terms(a, b, fourier_periods)) if fourier_periods else None
    grid = arima_grid(season, seasonal, bool(fourier_periods))
    best = None
    started = time.monotonic()
    ctx = _quiet()
    try:
        for order, seasonal_order, trend in grid:
            if time.monotonic() - started > max_seconds and best is not None:
                break
            try:
                model = SARIMAX(fit_values, order=order, seasonal_order=seasonal_order,
                                trend=trend, exog=exog(0, fit_values.size) if exog else None)
                result = model.fit(disp=False, maxiter=100)
            except Exception:  # statsmodels raises a zoo of errors on degenerate specs.
                continue
            if np.isfinite(result.aic) and (best is None or result.aic < best[0]):
                best = (result.aic, order, seasonal_order, result)
    finally:
        ctx.__exit__(None, None, None)
    if best is None:
        return None, None
    _, order, seasonal_order, result = best

    def forecast(history, horizon):
        ctx = _quiet()
        try:
            history = transform(np.asarray(history, "float64"))
            if exog:
                applied = result.apply(history, exog=exog(0, history.size))
                out = applied.forecast(horizon, exog=exog(history.size, history.size + horizon))
            else:
                out = result.apply(history).forecast(horizon)
            out = np.asarray(out)
            return np.exp(out) if log else out
        finally:
            ctx.__exit__(None, None, None)

    label = ("log-" if log else "") + f"ARIMA{order}"
    if seasonal_order[3]:
        label += f"{seasonal_order[:3]}[{seasonal_order[3]}]"
    if fourier_periods:
        label += " + Fourier" + str(list(fourier_periods))
    return forecast, label + arima_grid_note(grid)
