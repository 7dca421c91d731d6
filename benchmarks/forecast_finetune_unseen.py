"""Fine-tuning a published forecaster on real series no checkpoint was trained on (issue 18).

For each series and seed: `model_zoo.finetune(<checkpoint>, series, seed=...)` with the
defaults (strategy "auto", about the last 20% held out as the test part), and the comparison
it reports on that test part: seasonal naive, the zero-shot model (scaler refitted) and the
fine-tuned model, by MASE. One JSON line per run is appended to `--out`; `--table` prints a
markdown table of every line in that file (e.g. runs of two versions of the code, `--label`).

    python benchmarks/forecast_finetune_unseen.py --label after --out runs.jsonl
    python benchmarks/forecast_finetune_unseen.py --table --out runs.jsonl

Series (none of them is airline, co2 or taylor, the published forecasters' data):

| name | source | frequency | values | season given |
|---|---|---|---|---|
| elnino | statsmodels `elnino`: monthly sea surface temperature 1950-2010, the 12 month columns read row by row | monthly | 732 | none (the model's 12) |
| unemp | statsmodels `macrodata` `unemp`: US unemployment rate 1959Q1-2009Q3 | quarterly | 203 | 4 |
| nile | statsmodels `nile`: yearly Nile flow at Aswan 1871-1970 | yearly | 100 | 1 |
| wineind | pmdarima `load_wineind`: Australian wine sales 1980-1994 | monthly | 176 | none (12) |
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def _elnino():
    import statsmodels.api as sm

    frame = sm.datasets.elnino.load_pandas().data
    return frame.drop(columns="YEAR").to_numpy(dtype="float64").reshape(-1), None


def _unemp():
    import statsmodels.api as sm

    return sm.datasets.macrodata.load_pandas().data["unemp"].to_numpy(dtype="float64"), 4


def _nile():
    import statsmodels.api as sm

    return sm.datasets.nile.load_pandas().data["volume"].to_numpy(dtype="float64"), 1


def _wineind():
    from pmdarima.datasets import load_wineind

    return np.asarray(load_wineind(), dtype="float64"), None


SERIES = {"elnino": _elnino, "unemp": _unemp, "nile": _nile, "wineind": _wineind}


def run_one(checkpoint, name, seed):
    import model_zoo

    values, season = SERIES[name]()
    options = {"seed": seed, **({"season": season} if season else {})}
    started = time.perf_counter()
    tuned = model_zoo.finetune(checkpoint, values, **options)
    seconds = time.perf_counter() - started
    m = tuned.finetune_metrics
    rows = m["comparison"]["rows"]
    return {
        "series": name, "values": int(values.size), "season": tuned.season, "seed": seed,
        "checkpoint": checkpoint, "seconds": round(seconds, 1),
        "naive": rows["baseline"]["mase"], "zero_shot": rows["zero-shot"]["mase"],
        "finetuned": rows["fine-tuned"]["mase"], "chosen": m["strategy"].get("chosen"),
        "candidates": m["strategy"].get("candidates"),
        "alpha": (m.get("residual_weight") or {}).get("chosen"),
        "split": m["comparison"]["split"],
    }


def table(lines):
    labels = sorted({line["label"] for line in lines}, key=[x["label"] for x in lines].index)
    by_key = {}
    for line in lines:
        by_key.setdefault((line["series"], line["seed"]), {})[line["label"]] = line
    head = ["series", "seed", "seasonal naive", "zero-shot"] + [f"fine-tuned ({x})"
                                                                 for x in labels]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (series, seed), runs in by_key.items():
        first = next(iter(runs.values()))
        cells = [series, str(seed), f"{first['naive']:.3f}", f"{first['zero_shot']:.3f}"]
        for label in labels:
            run = runs.get(label)
            if run is None:
                cells.append("")
                continue
            alpha = run.get("alpha")
            extra = run["chosen"] + (f", alpha {alpha:g}" if alpha is not None else "")
            cells.append(f"{run['finetuned']:.3f} ({extra})")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="forecast_lstm_airline")
    parser.add_argument("--series", nargs="+", default=["elnino", "unemp", "nile"],
                        choices=sorted(SERIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--label", default="current code")
    parser.add_argument("--out", default="forecast_finetune_unseen.jsonl")
    parser.add_argument("--table", action="store_true", help="only print the table of --out")
    args = parser.parse_args(argv)
    if not args.table:
        for name in args.series:
            for seed in args.seeds:
                result = {"label": args.label, **run_one(args.checkpoint, name, seed)}
                print(json.dumps(result), flush=True)
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(result) + "\n")
    with open(args.out, encoding="utf-8") as f:
        print(table([json.loads(line) for line in f if line.strip()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
