"""The comparison every fine-tune reports: the fine-tuned model, the zero-shot model and the
task's classical baseline, measured on the same held-out part of the user's data.

A comparison is plain JSON (it goes into `tuned.finetune_metrics["comparison"]`, so into the
new checkpoint's `metadata.metrics["finetune"]`); this module builds, checks and prints it,
and imports no TensorFlow (the model card and the CLI render it). Its shape:

    {"metric": "mase", "higher_is_better": false,
     "split": {"rule": "the last 36 values (about 20%, whole horizons), by time",
               "train": 128, "validation": 16, "test": 36, "unit": "values"},
     "rows": {"fine-tuned": {"mase": 0.91, ...}, "zero-shot": {...}, "baseline": {...}},
     "models": {"fine-tuned": "...", "zero-shot": "...", "baseline": "seasonal naive (lag 12)"},
     "skipped": {"zero-shot": "why it is not meaningful here"},
     "beats_baseline": true, "verdict": "one sentence"}

A task takes part by implementing `Task.comparison_rows` (see `model_zoo.tasks.base`).
"""

import math
import numbers

from model_zoo.errors import InputError
from model_zoo.limits import finite_number

ROWS = ("fine-tuned", "zero-shot", "baseline")


def check_fraction(value, name="test_fraction"):
    """`value` as a float in [0, 1), else an InputError (0 means: hold nothing out)."""
    value = finite_number(value, name)
    if not 0 <= value < 1:
        raise InputError(f"`{name}` must be a number >= 0 and < 1 (the share of the data held "
                         f"out). Received: {name}={value!r}")
    return value


def build(rows, metric, higher_is_better, split, models, skipped=None):
    """The comparison record (see the module's docstring).

    Args:
        rows: `{"fine-tuned": {metric: value}, "baseline": {...}, ["zero-shot": {...}]}`.
        metric: the metric that decides (present in every row).
        higher_is_better: whether a larger `metric` is better.
        split: the held-out split: `rule`, the sizes (`train`, `validation`, `test`) and the
            `unit` they count ("values", "texts", ...).
        models: a short description of each row's model.
        skipped: `{row: reason}` for rows left out (zero-shot where it is not meaningful).
    """
    rows = {name: {k: _plain(v) for k, v in values.items()} for name, values in rows.items()}
    tuned, baseline = rows["fine-tuned"][metric], rows["baseline"][metric]
    beats = bool(tuned > baseline if higher_is_better else tuned < baseline)
    record = {"metric": metric, "higher_is_better": bool(higher_is_better), "split": dict(split),
              "rows": rows, "models": dict(models), "skipped": dict(skipped or {}),
              "beats_baseline": beats}
    record["verdict"] = verdict(record)
    return record


def _plain(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def verdict(record):
    """One sentence: whether the fine-tuned model beats the classical baseline, by how much."""
    metric = record["metric"]
    tuned = record["rows"]["fine-tuned"][metric]
    baseline = record["rows"]["baseline"][metric]
    split = record["split"]
    what = f"{metric} {_fmt(tuned)} against {_fmt(baseline)} for {record['models']['baseline']}"
    where = f"on the held-out part of your data ({split['test']} {split.get('unit', 'items')})"
    if record["beats_baseline"]:
        sentence = f"The fine-tuned model beats the classical baseline {where}: {what}."
    elif tuned == baseline:
        sentence = (f"The fine-tuned model only ties with the classical baseline {where}: "
                    f"{what}; the baseline is the simpler choice.")
    else:
        sentence = (f"The classical baseline beats this model on your data: {what}, {where}; "
                    "prefer the baseline, or try another strategy or more data.")
    zero_shot = record["rows"].get("zero-shot", {}).get(metric)
    if zero_shot is not None and (zero_shot > tuned if record["higher_is_better"]
                                  else zero_shot < tuned):
        sentence += (f" The model before fine-tuning (zero-shot) was better still: {metric} "
                     f"{_fmt(zero_shot)}.")
    return sentence


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _columns(record):
    metric = record["metric"]
    keys = {k for values in record["rows"].values() for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return [metric] + sorted(keys - {metric})


def table_lines(record, markdown=False):
    """The comparison as table lines (aligned text, or Markdown), then the split and verdict."""
    columns = _columns(record)
    order = [r for r in ROWS if r in record["rows"]] + \
        [r for r in record["rows"] if r not in ROWS]
    header = ["model"] + columns + ["what"]
    body = [[name] + [_fmt(record["rows"][name].get(c, "")) for c in columns]
            + [record["models"].get(name, "")] for name in order]
    body += [[name] + [""] * len(columns) + [f"not measured: {why}"]
             for name, why in record.get("skipped", {}).items()]
    split = record["split"]
    sizes = ", ".join(f"{k} {v}" for k, v in split.items() if k not in ("rule", "unit"))
    better = "higher" if record["higher_is_better"] else "lower"
    notes = [f"Held out: {split.get('rule', '')} ({sizes}); {record['metric']} decides, "
             f"{better} is better.", record["verdict"]]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return lines + [""] + notes
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header] + body]
    return lines + notes
