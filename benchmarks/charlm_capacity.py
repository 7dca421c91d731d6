"""How large must the Shakespeare character LSTM be to reach 1.35 nats/char? A capacity sweep.

    # 1. here, under TensorFlow: the recipe's id streams (split by play) as one NumPy file
    python benchmarks/charlm_capacity.py export --out .gpucheck/charlm_ids.npz
    # 2. anywhere Keras runs (a GPU machine under JAX; TensorFlow is not needed there)
    KERAS_BACKEND=jax python benchmarks/charlm_capacity.py train \\
        --ids .gpucheck/charlm_ids.npz --configs 2x512:0.2 3x512:0.25 --epochs 12

Each config `<depth>x<units>:<dropout>` is `build_lstm_language_model` trained as the recipe
trains it (windows of 128 characters with a new random offset and order each epoch, Adam with
cosine decay and gradient clipping: `default_optimizer`), and after every epoch it prints the
nats per character on the validation plays and on the test plays, scored as the recipe
scores them (`score_stream`: every scored character read after 64 characters of context).
It is an exploration to size the recipe's model: nothing is published from it (published
checkpoints are trained by `recipes/language_model.py`).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def export(args):
    from recipes.language_model import DEFAULTS, TextStreams

    data = TextStreams({**DEFAULTS, "dataset": "shakespeare"})
    np.savez_compressed(args.out, **{part: data.stream(part).astype("int16")
                                     for part in ("train", "validation", "test")},
                        vocabulary_size=data.tokenizer.vocabulary_size,
                        seq_length=data.seq_length, context=data.context)
    print(f"wrote {args.out}: " + ", ".join(f"{p} {data.stream(p).size:,} ids"
                                            for p in ("train", "validation", "test")))


def parse_config(text):
    """`"2x512:0.2"` -> `(2, 512, 0.2)`."""
    try:
        shape, _, dropout = text.partition(":")
        depth, units = shape.split("x")
        return int(depth), int(units), float(dropout or 0)
    except ValueError:
        raise SystemExit(f"A config is <depth>x<units>[:<dropout>], e.g. 2x512:0.2. "
                         f"Received: {text!r}") from None


def train(args):
    import keras

    from model_zoo.data.text import window_batches
    from model_zoo.metrics.text import language_model_metrics
    from model_zoo.models.step_functions import compile_function
    from model_zoo.models.text import build_lstm_language_model
    from model_zoo.tasks.language_model import _lm_loss, score_stream
    from model_zoo.training.fit import default_optimizer

    ids = np.load(args.ids)
    streams = {p: ids[p].astype("int32") for p in ("train", "validation", "test")}
    seq, context = int(ids["seq_length"]), int(ids["context"])
    print(f"backend {keras.backend.backend()}; train {streams['train'].size:,} chars, "
          f"batch {args.batch_size} x {seq}", flush=True)
    results = []
    for text in args.configs:
        depth, units, dropout = parse_config(text)
        keras.utils.set_random_seed(args.seed)
        model = build_lstm_language_model(int(ids["vocabulary_size"]), args.embedding_dim,
                                          units=units, depth=depth, dropout=dropout)
        steps, batches = window_batches(streams["train"], seq, args.batch_size, shuffle=True,
                                        seed=args.seed)
        model.compile(optimizer=default_optimizer(args.learning_rate, steps, args.epochs),
                      loss=_lm_loss())
        score = compile_function(lambda x, model=model: model(x, training=False),
                                 model.variables)
        row = {"config": text, "params": model.count_params(), "epochs": []}
        started = time.monotonic()
        for epoch in range(1, args.epochs + 1):
            x, y = (np.concatenate(parts) for parts in zip(*batches()))
            loss = model.fit(x, y, batch_size=args.batch_size, epochs=1, shuffle=False,
                             verbose=0).history["loss"][-1]
            nats = {part: language_model_metrics(
                *score_stream(score, streams[part], seq, context, batch_size=256),
                "char")["nats_per_char"] for part in ("validation", "test")}
            row["epochs"].append({"epoch": epoch, "train_loss": float(loss), **nats,
                                  "seconds": round(time.monotonic() - started, 1)})
            print(json.dumps({"config": text, **row["epochs"][-1]}), flush=True)
            if args.out:  # after every epoch: a run cut short keeps what it measured
                with open(args.out, "w", encoding="utf-8") as f:
                    json.dump(results + [row], f, indent=2)
            if time.monotonic() - started > 60 * args.minutes:
                break
        results.append(row)
    for row in results:
        best = min(row["epochs"], key=lambda e: e["validation"])
        print(f"{row['config']:>12} {row['params']:>10,} params: best validation "
              f"{best['validation']:.3f} (epoch {best['epoch']}), test {best['test']:.3f} "
              f"nats/char, {row['epochs'][-1]['seconds']:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="write the recipe's id streams (needs TensorFlow)")
    p.add_argument("--out", default=".gpucheck/charlm_ids.npz")
    p = sub.add_parser("train", help="train and score each config (any Keras backend)")
    p.add_argument("--ids", default=".gpucheck/charlm_ids.npz")
    p.add_argument("--configs", nargs="+", default=["2x512:0.2"])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--minutes", type=float, default=60.0,
                   help="stop a config after the epoch that passes this much time")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON of every epoch of every config")
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
