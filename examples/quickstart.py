"""The main job, end to end: load a published forecaster by name, forecast, fine-tune, compare.

    make demo            (or: python examples/quickstart.py)

1. Lists the published checkpoints and loads `forecast_lstm_airline` by name.
2. Forecasts the next year of a series it never saw: Australian wine sales (bundled CSV).
3. Measures its error on the last two years of that series (rolling origins, as the recipes do).
4. Fine-tunes it on the years before (gradual unfreezing; the test years stay unseen), saves the
   result as a checkpoint of its own, loads that back by path, and measures the error again.
"""

import os
import tempfile

import numpy as np

import model_zoo
from model_zoo.data.timeseries import read_series_csv
from model_zoo.metrics.forecasting import forecast_metrics, mase_scale
from model_zoo.models.forecasting.baselines import seasonal_naive

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "data", "wineind.csv")
TEST_MONTHS = 24


def main():
    print("published checkpoints:", ", ".join(model_zoo.list_models()))
    forecaster = model_zoo.load("forecast_lstm_airline")
    print(f"loaded {forecaster}")

    series = read_series_csv(CSV, "bottles")
    next_year = forecaster.forecast(series, horizon=12)
    print(f"\nwine sales, next 12 months after {len(series)} months of history:")
    print("  " + " ".join(f"{v:,.0f}" for v in next_year))

    before = forecaster.evaluate(series, test_size=TEST_MONTHS)
    out = os.path.join(tempfile.mkdtemp(prefix="model_zoo_demo_"), "forecast_lstm_wine")
    tuned = model_zoo.finetune(forecaster, series[:-TEST_MONTHS], out=out,
                               name="forecast_lstm_wine", epochs=60)
    reloaded = model_zoo.load(out)
    after = reloaded.evaluate(series, test_size=TEST_MONTHS, return_forecasts=True)

    # For scale: the seasonal-naive forecast (same month last year) from the same origins.
    naive = np.stack([seasonal_naive(series[:t], 12, 12) for t in after["origins"]])
    reference = forecast_metrics(np.asarray(after["truth"]), naive,
                                 mase_scale(series[:-TEST_MONTHS], 12))

    print(f"\nerror on the last {TEST_MONTHS} months (never seen in fine-tuning):")
    print(f"  {'':<28}{'MASE':>8}{'sMAPE %':>10}{'RMSE':>10}")
    for label, m in (("seasonal naive (reference)", reference),
                     ("published (zero-shot)", before), ("fine-tuned", after)):
        print(f"  {label:<28}{m['mase']:>8.3f}{m['smape']:>10.2f}{m['rmse']:>10,.0f}")
    print(f"\nfine-tuned checkpoint: {out}  (model_zoo.load(path) reads it)")
    print(f"fine-tuning stages: {tuned.finetune_metrics['stages']}")


if __name__ == "__main__":
    main()
