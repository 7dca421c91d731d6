"""Prints results tables from the registry (README.md and the recipe READMEs show its output).

    python scripts/results_table.py              # forecasting: LSTM vs baselines, per series
    python scripts/results_table.py registry     # every published checkpoint, headline metrics
    python scripts/results_table.py data         # the data sets behind the checkpoints

The tables are generated so that they show the numbers the registry (and `model-zoo evaluate`)
report, never numbers typed by hand.
"""

import os
import sys

from model_zoo.registry import default_registry

# The test metrics shown per task: the first two a checkpoint has (the rest stay in its
# metadata.json). Character models report nats and bits per char, subword ones per token.
HEADLINE = {
    "forecasting": ("mase", "smape"),
    "text_classification": ("accuracy", "f1"),
    "language_modeling": ("nats_per_char", "bits_per_char", "nats_per_token", "perplexity"),
    "tagging": ("accuracy", "unseen_accuracy"),
    "series_classification": ("accuracy", "macro_f1"),
    "anomaly_detection": ("f1", "roc_auc"),
    "translation": ("bleu", "chrf"),
    "speech_recognition": ("cer", "wer"),
}


def _latest(entries):
    """The newest version of each name."""
    newest = {}
    for entry in entries:
        m = entry.metadata
        if m.name not in newest or m.version > newest[m.name].metadata.version:
            newest[m.name] = entry
    return [newest[k] for k in sorted(newest)]


def registry_table():
    lines = ["| checkpoint | task | data | test metrics | parameters | size | recipe |",
             "|---|---|---|---|---|---|---|"]
    for entry in _latest(default_registry().list()):
        m = entry.metadata
        test = m.metrics.get("test", {})
        present = [k for k in HEADLINE.get(m.task, ()) if isinstance(test.get(k), (int, float))]
        shown = ", ".join(f"{k} {test[k]:.4g}" for k in present[:2])
        size = sum(f.get("bytes", 0) for f in m.files.values()) if isinstance(m.files, dict) \
            else 0
        lines.append(f"| `{m.full_name}` | {m.task} | {m.dataset.get('name', '')} | {shown} | "
                     f"{m.params:,} | {size / 2**20:.1f} MB | "
                     f"[{m.recipe}](recipes/{m.recipe}.md) |")
    return "\n".join(lines)


def data_table():
    by_data = {}
    for entry in _latest(default_registry().list()):
        d = entry.metadata.dataset
        key = (d.get("name", ""), str(d.get("source", "")), str(d.get("license", "")))
        by_data.setdefault(key, []).append(entry.metadata.name)
    lines = ["| data | source | license | checkpoints |", "|---|---|---|---|"]
    for (name, source, license_), names in sorted(by_data.items()):
        lines.append(f"| {name} | {source} | {license_} | {', '.join(names)} |")
    return "\n".join(lines)


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
    which = sys.argv[1] if len(sys.argv) > 1 else "forecasting"
    tables = {"forecasting": forecasting_table, "registry": registry_table, "data": data_table}
    if which not in tables:
        sys.exit(f"Unknown table; choose one of {sorted(tables)}. Received: {which}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(tables[which]())
