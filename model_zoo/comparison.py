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
     "baselines": ["baseline"], "strongest_baseline": "baseline",
     "beats_baseline": true, "verdict": "one sentence"}

A comparison may hold several classical baselines: `baselines` names the rows that are (by
default "baseline" and every row named "baseline (...)", e.g. translation's
"baseline (copy source)"). `beats_baseline` and the verdict are against the strongest of them
on the test part, named by `strongest_baseline`. Picking the best baseline on the very data
that judges the model favours the baseline, never the model, so the verdict stays
conservative for the model: a model that "beats the baseline" beats every one of them. A
record written before `baselines` existed has one classical baseline, its "baseline" row.

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


def is_baseline_name(name):
    """Whether a row's name marks a classical baseline: "baseline" or "baseline (...)"."""
    return name == "baseline" or name.startswith("baseline (")


def baseline_names(record):
    """The rows of `record` that are classical baselines, "baseline" first (a record without
    `baselines`, written before there could be several: just "baseline")."""
    names = record.get("baselines") or ["baseline"]
    return [name for name in names if name in record["rows"]]


def strongest_baseline(record):
    """The name of the classical baseline that decides `record`: the best of its baselines by
    the deciding metric on the test part (the first on a tie; one without a finite value
    decides only when none has one)."""
    metric, names = record["metric"], baseline_names(record)
    measured = [n for n in names if _finite(record["rows"][n].get(metric))]
    if not measured:
        return names[0]
    sign = 1 if record["higher_is_better"] else -1
    return max(measured, key=lambda n: (sign * record["rows"][n][metric], -names.index(n)))


def _finite(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def build(rows, metric, higher_is_better, split, models, skipped=None, baselines=None):
    """The comparison record (see the module's docstring).

    The fine-tuned model is judged against the strongest classical baseline on the test
    part. Choosing that opponent on the test data can only make the model look worse, never
    better, so it is allowed: the verdict stays conservative for the model.

    Args:
        rows: `{"fine-tuned": {metric: value}, "baseline": {...}, ["zero-shot": {...}]}`, and
            any further rows (e.g. a second classical baseline, "baseline (copy source)").
        metric: the metric that decides (present in every row).
        higher_is_better: whether a larger `metric` is better.
        split: the held-out split: `rule`, the sizes (`train`, `validation`, `test`) and the
            `unit` they count ("values", "texts", ...).
        models: a short description of each row's model.
        skipped: `{row: reason}` for rows left out (zero-shot where it is not meaningful).
        baselines: the names of the rows that are classical baselines ("baseline" among
            them). Default: "baseline" and every row named "baseline (...)".
    """
    rows = {name: {k: _plain(v) for k, v in values.items()} for name, values in rows.items()}
    if "baseline" not in rows or "fine-tuned" not in rows:
        raise InputError("A comparison needs a \"fine-tuned\" and a \"baseline\" row. "
                         f"Received: rows={sorted(rows)}")
    if baselines is None:
        baselines = [name for name in rows if is_baseline_name(name)]
    baselines = ["baseline"] + [name for name in dict.fromkeys(baselines) if name != "baseline"]
    unknown = [name for name in baselines
               if name not in rows or name in ("fine-tuned", "zero-shot")]
    if unknown:
        raise InputError(f"Every classical baseline must be a row of the comparison other than "
                         f"the fine-tuned and zero-shot ones. Received: baselines={baselines}, "
                         f"rows={sorted(rows)}")
    record = {"metric": metric, "higher_is_better": bool(higher_is_better), "split": dict(split),
              "rows": rows, "models": dict(models), "skipped": dict(skipped or {}),
              "baselines": baselines}
    record["strongest_baseline"] = strongest = strongest_baseline(record)
    tuned, baseline = rows["fine-tuned"][metric], rows[strongest][metric]
    record["beats_baseline"] = bool(tuned > baseline if higher_is_better else tuned < baseline)
    record["verdict"] = verdict(record)
    return record


def _plain(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def verdict(record):
    """One sentence: whether the fine-tuned model beats the (strongest) classical baseline, by
    how much, and which baseline that is where there are several."""
    metric = record["metric"]
    tuned = record["rows"]["fine-tuned"][metric]
    strongest = record.get("strongest_baseline") or strongest_baseline(record)
    baseline = record["rows"][strongest][metric]
    split = record["split"]
    what = (f"{metric} {_fmt(tuned)} against {_fmt(baseline)} for "
            f"{record['models'].get(strongest, strongest)}")
    others = [name for name in baseline_names(record) if name != strongest]
    if others:  # Several classical baselines: the strongest on the test part decides.
        what += (f" (\"{strongest}\", the strongest of the classical baselines; also "
                 + ", ".join(f"\"{name}\" {_fmt(record['rows'][name].get(metric))}"
                             for name in others) + ")")
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


def _marked(record, name):
    """The row's "what" cell; with several classical baselines, each says it is one, and the
    strongest that it decides."""
    what = record["models"].get(name, "")
    names = baseline_names(record)
    if len(names) < 2 or name not in names:
        return what
    strongest = record.get("strongest_baseline") or strongest_baseline(record)
    mark = ("classical baseline, the strongest: decides" if name == strongest
            else "classical baseline")
    return f"{what} [{mark}]" if what else f"[{mark}]"


def table_lines(record, markdown=False):
    """The comparison as table lines (aligned text, or Markdown), then the split and verdict.
    With several classical baselines, the "what" column marks them and the one that decides."""
    columns = _columns(record)
    order = [r for r in ROWS if r in record["rows"]] + \
        [r for r in record["rows"] if r not in ROWS]
    header = ["model"] + columns + ["what"]
    body = [[name] + [_fmt(record["rows"][name].get(c, "")) for c in columns]
            + [_marked(record, name)] for name in order]
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
