"""Prints the forecasting results table (LSTM vs baselines, per series) from the registry.

    python scripts/results_table.py

The README's and recipes/forecasting.md's tables are this script's output, so they show the
numbers the registry (and `model-zoo evaluate`) report.
"""

from model_zoo.registry import default_registry


def forecasting_table():
    entries = default_registry().list(pattern="forecast_lstm_*", task="forecasting")
    lines = ["| series | horizon | LSTM MASE | seasonal naive | ETS | ARIMA | best baseline | "
             "LSTM beats best? | LSTM sMAPE | LSTM RMSE |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    wins = 0
    for entry in entries:
        m = entry.metadata
        test, baselines = m.metrics["test"], m.metrics.get("baselines", {})
        if not baselines:
            continue
        best_name = min(baselines, key=lambda k: baselines[k]["mase"])
        best = baselines[best_name]["mase"]
        win = test["mase"] < best
        wins += win

        def cell(name):
            b = baselines.get(name)
            return f"{b['mase']:.3f}" if b else "-"

        lines.append(
            f"| {m.dataset['name']} | {m.config['config']['horizon']} | **{test['mase']:.3f}** | "
            f"{cell('seasonal_naive')} | {cell('ets')} | {cell('arima')} | "
            f"{best:.3f} ({best_name}: {baselines[best_name].get('model', '')}) | "
            f"{'yes' if win else 'no'} | {test['smape']:.2f} | {test['rmse']:.4g} |")
    lines.append("")
    lines.append(f"The LSTM beats the best classical baseline on MASE on {wins} of "
                 f"{len(lines) - 3} series.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(forecasting_table())
