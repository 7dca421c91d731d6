"""The forecasting task: `load(name).forecast(series, horizon)`."""

import json

import keras
import numpy as np

from model_zoo import limits
from model_zoo.data.timeseries import (
    StandardScaler,
    as_series,
    detect_season,
    make_windows,
    require_length,
    rolling_origins,
    windows_dataset,
)
from model_zoo.errors import InputError
from model_zoo.metrics.forecasting import forecast_metrics, mase_scale
from model_zoo.models import forecasting as _layers  # noqa: F401  (registers custom layers)
from model_zoo.models.copying import copy_model
from model_zoo.models.forecasting.baselines import (
    ets_forecast,
    ets_forecaster,
    fit_ets,
    seasonal_naive,
)
from model_zoo.models.step_functions import inference_function
from model_zoo.tasks.base import Task, register_task
from model_zoo.training.auto_strategy import check_strategy
from model_zoo.training.finetune import get_strategy


@register_task("forecasting")
class Forecaster(Task):
    """A univariate multi-step forecaster.

    Its preprocessing state holds `lookback` (values read), `horizon` (values forecast per
    call), `season`, `frequency`, the `scaler` fitted on the training series and, once
    fine-tuned, `residual_weight` and perhaps `anchor` (see the properties; absent means the
    network's own forecast).

    Example:
    >>> forecaster = model_zoo.load("forecast_lstm_airline")
    >>> forecaster.forecast([112, 118, 132, ...], horizon=24)   # 24 future values
    """

    @property
    def lookback(self):
        return int(self.preprocessing["lookback"])

    @property
    def horizon(self):
        return int(self.preprocessing["horizon"])

    @property
    def season(self):
        return int(self.preprocessing["season"])

    @property
    def scaler(self):
        return StandardScaler.from_dict(self.preprocessing["scaler"])

    @property
    def residual_weight(self):
        """alpha in `forecast = anchor + alpha * (network - anchor)`, `anchor` the forecast of
        the classical model `anchor` names (seasonal naive by default): 1 is the network's own
        forecast (checkpoints without the key), 0 exactly the anchor. `finetune` chooses it on
        the validation values."""
        return float(self.preprocessing.get("residual_weight", 1.0))

    @property
    def anchor(self):
        """The classical model a `residual_weight` below 1 shrinks toward: None for seasonal
        naive at lag `season` (checkpoints without the key), or an ETS model that `finetune`
        fitted on the user's training values, `{"kind": "ets", "form", "params", "label"}`
        (`models.forecasting.baselines.fit_ets`), re-filtered over each history with its
        parameters fixed (which needs statsmodels, of the `train` extra)."""
        return self.preprocessing.get("anchor")

    @property
    def anchor_name(self):
        anchor = self.anchor
        return f"seasonal naive (lag {self.season})" if anchor is None else anchor["label"]

    @property
    def history_needed(self):
        """Values a forecast reads: the network's window, and a season for the shrinkage."""
        if self.residual_weight == 1.0:
            return self.lookback
        return max(self.lookback, self.season)

    # -- prediction ------------------------------------------------------------------------

    def _predict_scaled(self, windows):
        out = inference_function(self.model)(np.asarray(windows, dtype="float32"))
        return keras.ops.convert_to_numpy(out).astype("float64")

    def forecast_at(self, values, origins, horizon=None):
        """Forecasts of `horizon` values from each origin `t`, using only `values[:t]`.

        The network forecasts `self.horizon` values at a time (recursively beyond); with a
        `residual_weight` alpha below 1 each block is `anchor + alpha * (network - anchor)`
        in the series' units, the anchor's block read from the values before it (forecast
        ones included), so alpha = 0 is exactly the anchor (the network is not run).
        """
        horizon = horizon or self.horizon
        values = np.asarray(values, dtype="float64")
        weight = self.residual_weight
        if weight == 0.0:
            return self._anchor_forecasts(values, origins, horizon)
        scaler, span = self.scaler, self.history_needed
        raw = np.stack([values[t - span:t] for t in origins])
        scaled = scaler.scale(raw)
        while scaled.shape[1] < span + horizon:  # Recursive beyond the model's own horizon.
            block = self._predict_scaled(scaled[:, -self.lookback:, None])
            if weight != 1.0:
                base = self._anchor_forecasts(values, origins, self.horizon, raw[:, span:])
                raw = np.concatenate([raw, base + weight * (scaler.unscale(block) - base)], 1)
                block = scaler.scale(raw[:, -self.horizon:])
            scaled = np.concatenate([scaled, block], 1)
        if weight != 1.0:
            return raw[:, span:span + horizon]
        return scaler.unscale(scaled[:, span:span + horizon])

    def _anchor_forecasts(self, values, origins, horizon, forecast=None):
        """The anchor's `horizon` values from each origin `t`, reading `values[:t]` followed by
        that origin's row of `forecast` (values forecast so far, if any)."""
        anchor = self.anchor

        def one(history):
            if anchor is None:
                return seasonal_naive(history, horizon, self.season)
            return ets_forecast(anchor, history, horizon)

        rows = forecast if forecast is not None else [()] * len(origins)
        return np.stack([one(np.r_[values[:t], row]) for t, row in zip(origins, rows)])

    def forecast(self, series, horizon=None, fill_missing=None):
        """Forecasts the next `horizon` values of `series`.

        Args:
            series: the history, oldest first: a list, NumPy array or pandas Series with at
                least `lookback` values.
            horizon: number of future values (default: the model's horizon); longer horizons
                feed forecasts back in, `horizon` values at a time. At most 2,000 (see
                `model_zoo.limits`: `MODEL_ZOO_MAX_HORIZON`).
            fill_missing: `"interpolate"` to fill gaps (NaN); by default a gap is an error.

        Returns:
            A NumPy array of `horizon` values.
        """
        if horizon is not None:
            limits.check("horizon", limits.positive_int(horizon, "horizon"), "`horizon`")
        values = as_series(series, fill_missing=fill_missing)
        require_length(values, self.history_needed,
                       f"this model's window of {self.history_needed} values")
        forecast = self.forecast_at(values, [values.size], horizon)[0]
        if not np.isfinite(forecast).all():
            raise InputError(
                "The forecast overflowed: the series' values are too far from the scale this "
                f"model was trained on (mean {self.scaler.mean:.4g}, std {self.scaler.std:.4g} "
                f"after its transform). Received: values from {values.min():.4g} to "
                f"{values.max():.4g}")
        return forecast

    predict = forecast

    def predict_example(self):
        t = np.arange(self.lookback + self.season, dtype="float64")
        series = 10.0 + np.sin(2 * np.pi * t / self.season) + 0.01 * t
        horizon = self.horizon + 3  # Also exercises the recursive path.
        return self.forecast(series, horizon), (horizon,)

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, series, test_size, train_size=None, max_origins=None,
                 return_forecasts=False):
        """Rolling-origin accuracy on the last `test_size` values, `horizon` at a time.

        MASE is scaled by the in-sample seasonal-naive error on the values before the test
        period (or the first `train_size` values).

        Args:
            return_forecasts: also return the forecast origins, the forecasts and the true
                values (one row of `horizon` values per origin), e.g. to plot them.

        Returns:
            `{"mase", "smape", "rmse", "n_origins"}`; with `return_forecasts=True` also
            `"origins": [t, ...], "forecasts": [[...]], "truth": [[...]]`.
        """
        values = as_series(series)
        origins = rolling_origins(values.size, test_size, self.horizon)
        if max_origins:
            origins = origins[:max_origins]
        if not origins or origins[0] < self.history_needed:
            raise InputError(
                f"The series is too short to evaluate: the test period of {test_size} values "
                f"needs {self.history_needed} values of history before it and at least "
                f"{self.horizon} "
                f"test values. Received: {values.size} values"
            )
        forecasts = self.forecast_at(values, origins)
        truth = np.stack([values[t:t + self.horizon] for t in origins])
        scale = mase_scale(values[:train_size or origins[0]], self.season)
        result = {**forecast_metrics(truth, forecasts, scale), "n_origins": len(origins)}
        if return_forecasts:
            result.update(origins=[int(o) for o in origins], forecasts=forecasts.tolist(),
                          truth=truth.tolist())
        return result

    # -- fine-tuning ------------------------------------------------------------------------------

    # The zero-shot model with the refitted scaler is a candidate too: it costs no training
    # and on some series nothing trained beats it (issue 18).
    auto_candidates = ("gradual_unfreezing", "full", "random", "zero_shot")

    def finetune(self, data, column=None, epochs=40, val_size=None, batch_size=32,
                 strategy="auto", fill_missing=None, seed=0, verbose=0, test_size=None,
                 season=None):
        """Adapts the forecaster to a new series; returns a new `Forecaster`.

        The scaler is refitted on the new series; the network keeps its shape (lookback,
        horizon). For the trained network an anchor and the residual weight alpha are chosen
        on validation values before any test part: the forecasts are `anchor + alpha *
        (network - anchor)`, alpha among `residual_weights` (0, 0.25, ..., 1), the anchor
        seasonal naive or ETS fitted on the training values (statsmodels auto-ETS, as the
        comparison's baseline); alpha = 0 is the anchor itself, so on the validation values
        the fine-tuned model is never worse than seasonal naive or ETS. An ETS anchor is then
        refitted (form and parameters) on all the values before the test part. Both are
        stored in the preprocessing (`residual_weight`, `anchor`); `finetune_metrics["residual_weight"]` has every
        anchor's and alpha's validation MAE. By default (`strategy="auto"`) the strategy is
        chosen on the same values, each candidate with its own anchor and alpha: see
        `strategy`.

        Args:
            data: the series: list/array/pandas Series, or a CSV path with `column=`.
            column: the CSV or DataFrame column holding the values.
            epochs: total epochs over all stages.
            val_size: values held out at the end for early stopping and for choosing the
                strategy and alpha (default: max(horizon, 25% of the values before the test
                part); with 10%, a handful of validation windows, the choice was noise on
                unseen series: see `recipes/forecasting.md`).
            batch_size: windows per batch.
            strategy: `"auto"` (default) trains every candidate, gradual unfreezing
                (`"gradual_unfreezing"`: the head first, then the recurrent layers from the
                top), `"full"`, the same architecture from random weights (`"random"`) and
                the published network untrained (`"zero_shot"`, its scaler refitted), and
                keeps the one whose forecast, with its own anchor and residual weight, has
                the lowest MAE on the validation values (never the test part); so it takes
                about three times as long as one strategy. The scores
                and the choice are in `finetune_metrics["strategy"]`. Or one strategy:
                `"gradual_unfreezing"`, `"full"`, or a strategy object.
            fill_missing: `"interpolate"` to fill gaps; by default a gap is an error.
            seed: random seed of shuffling and dropout.
            test_size: values held out at the end, never trained on, on which the fine-tuned
                model, the zero-shot model (its scaler refitted to the values before them) and
                seasonal naive are compared (`finetune_metrics["comparison"]`), rolling origin
                as in `evaluate`; default: about the last 20%, in whole horizons; 0: none.
            season: the series' season (for seasonal naive, the residual weight and the MASE
                scale); default: detected from the training values (`detect_season`: the
                strongest peak of the autocorrelation of their differences, 1 when there is
                none; the model's own season where the peak is a whole multiple of it).
                `finetune_metrics["season"]` says which and how.
        """
        check_strategy(strategy)
        values = as_series(data, column=column, fill_missing=fill_missing)
        if season is not None:
            season = limits.positive_int(season, "season")
            season_from = "given"
        if test_size is None:  # About the last 20%, in whole forecasts of `horizon` values.
            test_size = self.horizon * max(1, round(values.size / 5 / self.horizon))
            rule = f"the last {test_size} values (about 20%, whole horizons), by time"
        elif not (type(test_size) is int and test_size == 0):
            test_size = limits.positive_int(test_size, "test_size")
            if test_size < self.horizon:
                raise InputError(
                    f"`test_size` must hold at least one forecast of this model's horizon "
                    f"({self.horizon} values), or be 0. Received: test_size={test_size}")
            rule = f"the last {test_size} values, by time"
        fit_size = values.size - test_size
        val_size = val_size or max(self.horizon, fit_size // 4)
        needed = self.lookback + self.horizon + val_size + test_size
        require_length(values, needed,
                       f"fine-tuning (a {self.lookback}-value window, a {self.horizon}-value "
                       f"target, {val_size} validation values and {test_size} held-out test "
                       "values)")
        held_out, values = values, values[:fit_size]
        split = values.size - val_size
        if season is None:
            season = detect_season(values[:split], hint=self.season)
            season_from = (f"detected from the {split} training values (autocorrelation of "
                           f"their differences; the model's is {self.season})")
        scaler = StandardScaler.fit(values[:split], self.scaler.transform)
        scaled = scaler.scale(values)
        preprocessing = json.loads(json.dumps(self.preprocessing))
        preprocessing.pop("anchor", None)  # Chosen again below, with the residual weight.
        preprocessing["scaler"] = scaler.to_dict()
        preprocessing["season"] = season
        before = Forecaster(self.model, preprocessing)._val_mae(scaled, split)
        anchors = Forecaster(self.model, preprocessing)._anchor_candidates(values, split)

        def fit(start, strategy):  # One candidate: `start`'s network trained on `scaled`.
            keras.utils.set_random_seed(seed)
            train = windows_dataset(scaled, self.lookback, self.horizon, batch_size,
                                    stop=split - self.horizon + 1, shuffle=True, seed=seed)
            val = windows_dataset(scaled, self.lookback, self.horizon, batch_size, start=split)
            model = copy_model(start.model)
            history = get_strategy(strategy).fit(model, train, val, loss="mae", epochs=epochs,
                                                 verbose=verbose)
            tuned = Forecaster(model, {**preprocessing, "residual_weight": 1.0}, self.metadata)
            weight, anchor, weights = tuned._choose_residual_weight(values, split, anchors)
            tuned.preprocessing["residual_weight"] = weight
            if anchor is not None:
                tuned.preprocessing["anchor"] = anchor
            blended = weights.get(tuned.anchor_name, {}).get(str(weight))
            tuned.finetune_metrics = {"val_mae_scaled_before": before,
                                      "val_mae_scaled_after": tuned._val_mae(scaled, split),
                                      # The forecast as stored (anchor and alpha), in the
                                      # series' units: what auto compares.
                                      "val_mae": blended,
                                      "train_values": int(split), "val_values": int(val_size),
                                      "test_values": int(test_size),
                                      "stages": len(history["stages"]),
                                      "residual_weight": {
                                          "chosen": weight, "anchor": tuned.anchor_name,
                                          "val_mae": weights.get(tuned.anchor_name, {}),
                                          "anchors": weights,
                                          "on": "the validation values, as the strategy"}}
            return tuned

        def score(tuned):  # The network alone where no validation origin fits a season.
            m = tuned.finetune_metrics
            return m["val_mae"] if m["val_mae"] is not None else m["val_mae_scaled_after"]

        tuned = self.finetune_with_strategy(
            strategy, fit, score, metric="val_mae", higher_is_better=False, seed=seed,
            on=f"the last {val_size} values before any test part (validation), "
               f"{self.horizon} at a time from every origin, each candidate with its own "
               "anchor and residual weight, in the series' units")
        tuned.finetune_metrics["season"] = {"value": season, "from": season_from}
        if tuned.anchor is not None:  # Chosen on validation; refitted on everything before
            # the test part, as the comparison's ETS baseline (alpha 0 is that baseline).
            refitted = fit_ets(values, season)
            if refitted is not None:
                tuned.preprocessing["anchor"] = {"kind": "ets", **refitted}
            tuned.finetune_metrics["residual_weight"]["anchor_refitted"] = (
                f"{tuned.anchor_name}, on all {values.size} values before the test part"
                if refitted is not None else "no: no ETS form fitted them; kept the fit on "
                f"the {split} training values")
        if test_size:
            self.compare_finetuned(tuned, values, held_out, {
                "rule": rule, "train": int(split), "validation": int(val_size),
                "test": int(test_size), "unit": "values"})
        return tuned

    comparison_metric, comparison_higher_is_better = "mase", False

    def comparison_rows(self, tuned, train, test):
        """Rolling-origin accuracy (as `evaluate`) on the values of `test` after `train`: the
        fine-tuned model, this model with the fine-tuned scaler (refitted to the user's
        training values) and seasonal naive, all with the fine-tuned model's season (the
        zero-shot model with this model's own residual weight and anchor, not the ones chosen
        for `tuned`); seasonal naive at this model's own season where that differs; and ETS."""
        test_size = test.size - train.size
        own = {k: v for k, v in tuned.preprocessing.items() if k != "anchor"}
        zero_shot = Forecaster(self.model, {**own, "residual_weight": self.residual_weight,
                                            **({"anchor": self.anchor} if self.anchor else {})})
        rows = {name: {k: v for k, v in model.evaluate(test, test_size).items()
                       if k in ("mase", "smape", "rmse")}
                for name, model in (("fine-tuned", tuned), ("zero-shot", zero_shot))}
        origins = rolling_origins(test.size, test_size, tuned.horizon)
        truth = np.stack([test[t:t + tuned.horizon] for t in origins])
        naive = np.stack([seasonal_naive(test[:t], tuned.horizon, tuned.season)
                          for t in origins])
        scale = mase_scale(train, tuned.season)
        rows["baseline"] = forecast_metrics(truth, naive, scale)
        models = {"fine-tuned": f"{self.name} fine-tuned",
                  "zero-shot": f"{self.name}, scaler refitted to your training values",
                  "baseline": f"seasonal naive (lag {tuned.season})"}
        # Where the season read from the user's values is not the checkpoint's own (no season
        # detected on a weekly series, say), seasonal naive at the checkpoint's season is a
        # second baseline, on the same MASE scale: it is what a user of a weekly model would
        # try first (fpp3's us_gasoline: no season detected, lag 52 the stronger baseline).
        if self.season != tuned.season and self.season <= train.size:
            other = f"baseline (lag {self.season})"
            rows[other] = forecast_metrics(truth, np.stack(
                [seasonal_naive(test[:t], tuned.horizon, self.season) for t in origins]), scale)
            models[other] = f"seasonal naive (lag {self.season}, {self.name}'s own season)"
        # ETS, the other one-line baseline of forecasting (statsmodels: additive errors, the
        # trend and season forms chosen by AIC), fitted on the values the fine-tune saw and
        # re-filtered up to each origin with its parameters fixed.
        skipped = {}
        ets, label = ets_forecaster(np.asarray(train, "float64"), tuned.season)
        if ets is None:
            skipped["baseline (ETS)"] = "no ETS form could be fitted to the training values"
        else:
            rows["baseline (ETS)"] = forecast_metrics(truth, np.stack(
                [ets(test[:t], tuned.horizon) for t in origins]), scale)
            models["baseline (ETS)"] = f"{label} (statsmodels; form by lowest AIC)"
        for values in rows.values():
            values["origins"] = len(origins)
        return rows, models, skipped

    #: The residual weights (alpha) `finetune` chooses among; 0 is the anchor itself.
    residual_weights = (0.0, 0.25, 0.5, 0.75, 1.0)

    def _validation_origins(self, values, split):
        """Every origin from `split` on with a whole target inside `values` and the history
        a forecast reads before it."""
        return list(range(max(split, self.lookback, self.season),
                          values.size - self.horizon + 1))

    def _anchor_candidates(self, values, split):
        """The anchors `finetune` chooses among, with their forecasts from every validation
        origin: `{name: (anchor or None, forecasts)}`; seasonal naive, and ETS fitted on the
        training values (`values[:split]`) where a form fits. Computed once per fine-tune:
        they do not depend on the network."""
        origins = self._validation_origins(values, split)
        candidates = {self.anchor_name: (None, self._anchor_forecasts(values, origins,
                                                                      self.horizon))}
        fitted = fit_ets(values[:split], self.season) if origins else None
        if fitted is not None:
            ets = Forecaster(self.model, {**self.preprocessing, "anchor": {"kind": "ets",
                                                                           **fitted}})
            candidates[fitted["label"]] = (ets.anchor, ets._anchor_forecasts(
                values, origins, self.horizon))
        return candidates

    def _choose_residual_weight(self, values, split, anchors):
        """The anchor of `anchors` (see `_anchor_candidates`) and the alpha of
        `residual_weights` whose forecasts, `anchor + alpha * (network - anchor)`, from every
        validation origin have the lowest MAE in the series' units; a tie goes to the smaller
        alpha, then to the first anchor (alpha 1 is the network alone, whatever the anchor).
        With no validation origin alpha is 1.

        Returns:
            `(alpha, anchor or None, {anchor name: {str(alpha): validation MAE}})`.
        """
        origins = self._validation_origins(values, split)
        if not origins:
            return 1.0, None, {}
        truth = np.stack([values[t:t + self.horizon] for t in origins])
        own = {k: v for k, v in self.preprocessing.items() if k != "anchor"}
        network = Forecaster(self.model, {**own, "residual_weight": 1.0}).forecast_at(
            values, origins)
        scores, ranked = {}, []
        for rank, (name, (anchor, base)) in enumerate(anchors.items()):
            scores[name] = {}
            for weight in self.residual_weights:
                mae = float(np.mean(np.abs(base + weight * (network - base) - truth)))
                scores[name][str(weight)] = mae if np.isfinite(mae) else None
                ranked.append((np.inf if scores[name][str(weight)] is None else mae, weight,
                               rank, anchor))
        _, weight, _, anchor = min(ranked, key=lambda r: r[:3])
        return float(weight), (anchor if weight != 1.0 else None), scores

    def _val_mae(self, scaled, split):
        x, y, _ = make_windows(scaled, self.lookback, self.horizon, start=split)
        return float(np.mean(np.abs(self._predict_scaled(x) - y)))

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "the history, oldest first: a list of at least {task.history_needed} "
                    "numbers, or {{\"history\": [...], \"horizon\": n}} (default horizon "
                    "{task.horizon})",
        "prediction": "the forecast: a list of `horizon` numbers, in the series' units"}

    def serve_instances(self, instances):
        """`forecast` of each instance (the verb forecasts one series)."""
        histories, settings = self.serving_instances(instances, "history", {"horizon": int})
        series = [self.serving_values(h, k) for k, h in enumerate(histories)]
        return self.each_instance(lambda s, **kw: self.forecast(s, **kw).tolist(), series,
                                  settings)

    # -- command line ------------------------------------------------------------------------------

    def predict_cli(self, args):
        values = as_series(args.csv, column=args.column, fill_missing=args.fill_missing)
        return {"model": self.name, "history": int(values.size),
                "forecast": [round(float(v), 6) for v in self.forecast(values, args.horizon)]}

    @classmethod
    def finetune_data_from_cli(cls, args):
        options = {"test_size": args.test_size, "season": args.season}
        return {"data": args.csv, "column": args.column, "fill_missing": args.fill_missing,
                **{k: v for k, v in options.items() if v is not None}}
