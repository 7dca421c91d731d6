"""Fine-tuning the published Brown tagger on a small CoNLL file with another tag set, against
training the same recipe from scratch on the same file (the table in recipes/tagging.md).

    python benchmarks/tagging_finetune_vs_scratch.py --train-sentences 400 --epochs 20

The small "user" files are real text: Brown sentences with BIO name-span tags derived from the
Brown tags (`brown_name_spans`: TITLE = a run of title-marked words such as "Fulton County Grand
Jury", NAME = a run of proper nouns). Train sentences come from the recipe's training documents,
validation from its validation documents, test from its test documents; the tagger never saw
these tags. Both runs go through the public entry points: `model-zoo finetune` and
`model-zoo train tagging --set dataset=conll ...`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from model_zoo.data.tagging import brown_corpus, brown_name_spans, brown_split, write_conll


def _sentences(split_name, limit):
    documents = brown_corpus()
    split = brown_split(documents)
    wanted = set(split[split_name])
    out = []
    for doc in documents:
        if doc.fileid in wanted:
            out += [(tokens, brown_name_spans(tags)) for tokens, tags in doc.sentences]
    # Every 7th sentence: a spread over genres and documents, deterministic.
    return out[::7][:limit]


def _run(args, **kwargs):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "model_zoo.cli", *args], capture_output=True,
                            text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tagging_bilstm_brown")
    parser.add_argument("--train-sentences", type=int, default=400)
    parser.add_argument("--test-sentences", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--scratch-epochs", type=int, nargs="*", default=None,
                        help="epoch budgets of the from-scratch runs (default: --epochs)")
    parser.add_argument("--skip-finetune", action="store_true")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix="tagging_ft_")
    os.makedirs(work, exist_ok=True)
    files = {}
    for name, split, n in (("train", "train", args.train_sentences),
                           ("val", "validation", max(args.train_sentences // 4, 20)),
                           ("test", "test", args.test_sentences)):
        pairs = _sentences(split, n)
        files[name] = write_conll(os.path.join(work, f"names_{name}.conll"),
                                  [t for t, _ in pairs], [g for _, g in pairs])
        print(f"{name}: {len(pairs)} sentences -> {files[name]}")

    rows = []
    if not args.skip_finetune:
        out_dir = os.path.join(work, "finetuned")
        # The test file is the comparison's test part, so none of the training sentences
        # is held out of the fine-tune (the from-scratch run trains on all of them too).
        _, seconds = _run(["finetune", args.model, "--conll", files["train"], "--val-conll",
                           files["val"], "--test-conll", files["test"], "--out", out_dir,
                           "--epochs", str(args.epochs), "--overwrite"])
        stdout, _ = _run(["predict", out_dir, "--conll", files["test"]])
        rows.append((f"fine-tuned {args.model}, {args.epochs} epochs",
                     json.loads(stdout)["metrics"], seconds))

    # From scratch: the same recipe on the same files, with the fine-tuning's batch size (32).
    for epochs in args.scratch_epochs or [args.epochs]:
        stdout, seconds = _run(["train", "tagging", "--set", "dataset=conll", "--set",
                                f"train_file={files['train']}", "--set",
                                f"val_file={files['val']}", "--set",
                                f"test_file={files['test']}", "--set", "min_count=1",
                                "--set", "batch_size=32", "--set", "patience=10",
                                "--epochs", str(epochs), "--quiet",
                                "--run-dir", os.path.join(work, f"scratch_{epochs}")])
        test = json.loads(stdout[stdout.index("{"):])["test"]
        rows.append((f"from scratch (same recipe and file), {epochs} epochs", test, seconds))

    print("\n| model | entity P | entity R | entity F1 | token accuracy | seconds |")
    print("|---|---|---|---|---|---|")
    for name, m, seconds in rows:
        print(f"| {name} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | "
              f"{m['accuracy']:.4f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
