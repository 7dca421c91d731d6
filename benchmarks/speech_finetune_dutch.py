"""Fine-tuning the English speech recogniser to Dutch, against training from scratch.

    python benchmarks/speech_finetune_dutch.py --mode both --epochs 8

Data: the Dutch voices of Fish Fillets NG (`apt-get install fillets-ng-data
fillets-ng-data-nl`), clips of 0.2 s to `--max-seconds`. Split by game level, so no line of a
test level is heard in training: every 8th level (sorted by name) is the test set; from the
other levels `--max-train` clips are drawn at random (a small-data fine-tuning, and what a
shared 2-core CPU can train on in the time), of which `SpeechRecognizer.finetune` holds out
10% at random for validation.

* finetune: `model_zoo.load(BASE).finetune(train_items, language="nl", epochs=E)`: the alphabet
  grows by the Dutch characters, the output layer keeps the English characters' weights, and
  the layers are unfrozen gradually (head, recurrent layers from the top, convolutions).
* scratch: the same architecture, randomly initialised, trained the recipe's way (Adam, one
  warm-up epoch, cosine decay, early stopping on the same validation clips) for the same
  number of epochs with the same augmentation.

Both are scored on the test levels with jiwer (CER, WER, greedy decoding); the script prints a
Markdown table and writes the numbers to `--out` (JSON).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from model_zoo.data.audio import Augmentation, AudioFeatures, speech_dataset  # noqa: E402
from model_zoo.data.speech_corpus import fillets_corpus  # noqa: E402
from model_zoo.data.speech_text import ENGLISH_ALPHABET, CharAlphabet  # noqa: E402
from model_zoo.models.speech import build_ctc_recognizer  # noqa: E402
from model_zoo.tasks.speech_recognition import SpeechRecognizer  # noqa: E402
from model_zoo.training import fit as training  # noqa: E402


def split_by_level(items, every=8):
    levels = sorted({u.id.split("/")[0] for u in items})
    test_levels = set(levels[::every])
    train = [u for u in items if u.id.split("/")[0] not in test_levels]
    test = [u for u in items if u.id.split("/")[0] in test_levels]
    return train, test, sorted(test_levels)


def validation_split(items, fraction=0.1, seed=0):
    """The same random split `SpeechRecognizer.finetune` makes."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(items))
    n_val = max(1, int(round(fraction * len(items))))
    return [items[i] for i in sorted(order[n_val:])], [items[i] for i in sorted(order[:n_val])]


def finetune_from_english(base, train_items, test_items, epochs, seed):
    import model_zoo

    english = model_zoo.load(base)
    started = time.monotonic()
    tuned = english.finetune(train_items, language="nl", epochs=epochs, seed=seed, verbose=2)
    seconds = time.monotonic() - started
    result = tuned.evaluate(test_items)
    return {"cer": result["cer"], "wer": result["wer"], "train_seconds": round(seconds),
            "val_cer_before": tuned.finetune_metrics["val_cer_before"],
            "val_cer_after": tuned.finetune_metrics["val_cer_after"],
            "base": english.name}


def train_from_scratch(train_items, test_items, epochs, seed):
    """The English recipe's published architecture and front end, from random weights."""
    from model_zoo.training.recipe import get_recipe

    recipe = get_recipe("speech_recognition")
    config, _ = recipe.resolve({})
    hp = recipe.search_space(config).values
    features = AudioFeatures(sample_rate=config["sample_rate"],
                             num_mel_bins=config["num_mel_bins"])
    alphabet = CharAlphabet.from_texts([u.text for u in train_items + test_items],
                                       base=ENGLISH_ALPHABET)
    keras.utils.set_random_seed(seed)
    model = build_ctc_recognizer(
        num_mel_bins=features.num_mel_bins, alphabet_size=alphabet.size,
        conv_channels=hp.get("conv_channels", 16), subsample=hp.get("subsample", 3),
        cell=hp.get("cell", "gru"), units=hp.get("units", 128), depth=hp.get("depth", 2),
        dropout=hp.get("dropout", 0.15))
    preprocessing = {"features": features.to_dict(), "alphabet": alphabet.characters,
                     "language": "nl", "decoder": "greedy", "beam_width": 16}
    task = SpeechRecognizer(model, preprocessing)
    fit_items, val_items = validation_split(train_items, seed=seed)
    waves, fit_items, _ = task.readable(fit_items)
    val_waves, val_items, _ = task.readable(val_items)
    train = speech_dataset(waves, [alphabet.encode(u.text) for u in fit_items], features, 16,
                           Augmentation(), shuffle=True, seed=seed)
    val = speech_dataset(val_waves, [alphabet.encode(u.text) for u in val_items], features, 16)
    started = time.monotonic()
    training.fit(model, train, val, loss=keras.losses.CTC(), epochs=epochs,
                 learning_rate=hp.get("learning_rate", 1e-3), patience=6, warmup_epochs=1,
                 verbose=2)
    seconds = time.monotonic() - started
    result = task.evaluate(test_items)
    return {"cer": result["cer"], "wer": result["wer"], "train_seconds": round(seconds),
            "val_cer_after": task.evaluate(val_items)["cer"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["finetune", "scratch", "both"], default="both")
    parser.add_argument("--base", default="asr_crnn_synthetic_en")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--max-train", type=int, default=600,
                        help="fine-tuning clips drawn at random (seeded) from the training levels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    items = [u for u in fillets_corpus("nl")
             if 0.2 <= soundfile.info(u.path).duration <= args.max_seconds]
    train_items, test_items, test_levels = split_by_level(items)
    if args.max_train and len(train_items) > args.max_train:
        keep = np.random.default_rng(args.seed).choice(len(train_items), args.max_train,
                                                       replace=False)
        train_items = [train_items[i] for i in sorted(keep)]
    hours = lambda xs: sum(soundfile.info(u.path).duration for u in xs) / 3600  # noqa: E731
    print(f"Dutch clips: {len(train_items)} for fine-tuning ({hours(train_items):.2f} h), "
          f"{len(test_items)} test ({hours(test_items):.2f} h) from levels {test_levels}",
          flush=True)
    results = {"data": {"train_utterances": len(train_items), "test_utterances": len(test_items),
                        "train_hours": round(hours(train_items), 3),
                        "test_hours": round(hours(test_items), 3), "test_levels": test_levels,
                        "max_seconds": args.max_seconds, "max_train": args.max_train,
                        "epochs": args.epochs, "seed": args.seed}}
    if args.mode in ("finetune", "both"):
        results["finetuned_from_english"] = finetune_from_english(
            args.base, train_items, test_items, args.epochs, args.seed)
        print(json.dumps(results["finetuned_from_english"]), flush=True)
    if args.mode in ("scratch", "both"):
        results["from_scratch"] = train_from_scratch(train_items, test_items, args.epochs,
                                                     args.seed)
        print(json.dumps(results["from_scratch"]), flush=True)
    print("\n| Dutch test levels | CER | WER | training time |\n|---|---|---|---|")
    for key in ("finetuned_from_english", "from_scratch"):
        if key in results:
            r = results[key]
            print(f"| {key.replace('_', ' ')} | {r['cer']:.3f} | {r['wer']:.3f} | "
                  f"{r['train_seconds'] / 60:.0f} min |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
