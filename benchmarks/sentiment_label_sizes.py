"""Test accuracy against labelled-set size: from scratch vs ULMFiT from a pretrained LM.

    python benchmarks/sentiment_label_sizes.py --encoder lm_lstm_imdb --sizes 100 1000 5000 0

Every row trains the sentiment recipe twice with the same seed, the same labelled reviews
(`train_size` of them, half per class, fixed by the recipe) and the same architecture (the
language model's embedding and LSTM layers, concat pooling, a softmax head): once from random
weights (`init=scratch`, Adam + cosine schedule + early stopping) and once from the language
model's weights (`init=pretrained`, ULMFiT: gradual unfreezing, discriminative learning rates,
slanted triangular schedule). Size 0 means every training review. All runs share one process,
so the corpus is read and tokenized once; each writes its own run folder. The script prints a
Markdown table and writes the numbers as JSON.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EPOCHS = {100: 20, 1000: 10, 5000: 5, 0: 3}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="lm_lstm_imdb")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000, 0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--epochs", type=int, nargs="*", default=None,
                        help="epochs per size (default: 20, 10, 5, 3 for 100, 1k, 5k, all)")
    parser.add_argument("--inits", nargs="+", default=["scratch", "pretrained"],
                        choices=["scratch", "pretrained"],
                        help="which arms to run (one process per arm runs them in parallel; "
                             "put their JSON rows in one --out file to print the table)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe setting or hyperparameter for every run of this "
                             "process (e.g. learning_rate=0.01 for the pretrained arm)")
    parser.add_argument("--out", default="runs/sentiment_label_sizes.json")
    args = parser.parse_args(argv)

    from model_zoo.cli import parse_sets
    from model_zoo.training.runner import train

    extra = parse_sets(args.set)

    rows = []
    if os.path.isfile(args.out):
        with open(args.out, encoding="utf-8") as f:
            rows = json.load(f)
    done = {(r["train_size"], r["init"], r["seed"]) for r in rows}
    for k, size in enumerate(args.sizes):
        epochs = args.epochs[k] if args.epochs else EPOCHS.get(size, 5)
        for seed in args.seeds:
            for init in args.inits:
                if (size, init, seed) in done:
                    continue
                overrides = {**extra, "encoder": args.encoder, "init": init,
                             "train_size": size, "max_length": args.max_length}
                started = time.monotonic()
                result = train("sentiment", overrides, epochs=epochs, seed=seed, verbose=0)
                rows.append({"train_size": size, "init": init, "seed": seed, "epochs": epochs,
                             "settings": extra,
                             "accuracy": result.metrics["test"]["accuracy"],
                             "f1": result.metrics["test"]["f1"],
                             "tfidf_accuracy": result.metrics["baselines"].get(
                                 "tfidf_logistic_regression", {}).get("accuracy"),
                             "seconds": round(time.monotonic() - started),
                             "run_dir": result.run_dir})
                print(json.dumps(rows[-1]), flush=True)
                os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
                with open(args.out, "w", encoding="utf-8") as f:
                    json.dump(rows, f, indent=2)
    print(table(rows))


def table(rows):
    lines = ["| labelled reviews | seed | from scratch | ULMFiT (pretrained) | gain | "
             "TF-IDF + LR |", "|---|---|---|---|---|---|"]
    keys = sorted({(r["train_size"] or 10**9, r["seed"]) for r in rows})
    for size, seed in keys:
        size = 0 if size == 10**9 else size
        got = {r["init"]: r for r in rows if r["train_size"] == size and r["seed"] == seed}
        if len(got) < 2:
            continue
        a, b = got["scratch"]["accuracy"], got["pretrained"]["accuracy"]
        tfidf = got["scratch"].get("tfidf_accuracy")
        lines.append(f"| {size or 'all (17,500)'} | {seed} | {a:.2%} | {b:.2%} | "
                     f"{100 * (b - a):+.1f} pts | {'' if tfidf is None else f'{tfidf:.2%}'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
