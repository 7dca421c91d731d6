"""The English recogniser on every other real voice packaged here.

    python benchmarks/speech_real_sets.py asr_crnn_synthetic_en@4 asr_crnn_synthetic_en
    python benchmarks/speech_real_sets.py --sets warzone_tutorial,saytime
    python benchmarks/speech_real_sets.py asr_crnn_synthetic_en@5 --asterisk \
        --finetune-on warzone_lines,saytime,ktuberling,klettres,tuxpaint --epochs 12

The recipe's real test set is one professional speaker (the Asterisk prompts, 8 kHz). This
script reads the small sets of real English speech that other Debian packages ship with their
text (`model_zoo.data.real_speech`: Warzone 2100's voice lines and spoken tutorial, saytime,
KTuberling, KLettres, Tux Paint), each unpacked once into the data cache. Their transcripts are
the packages' own labels, not checked by ear, and the sets are small (12.6 minutes in all):
read the numbers as rough probes of how far a model carries beyond its test speaker.

With `--finetune-on SETS` each model is first fine-tuned on those sets
(`SpeechRecognizer.finetune`, its defaults: gradual unfreezing, 10% of the clips held out) and
scored on the others; `--asterisk` adds the recipe's real test set (553 clips) to the table.

Prints a Markdown table per model (CER and WER, greedy and with the checkpoint's language
model, per set and over all the sets' characters) and writes the numbers to `--out` (JSON).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import model_zoo  # noqa: E402
from model_zoo.data.real_speech import REAL_SPEECH_SETS, real_speech_set  # noqa: E402
from model_zoo.data.speech_corpus import asterisk_corpus  # noqa: E402


def score(task, utterances):
    """`{"cer": ..., "wer": ..., "cer_lm": ..., "wer_lm": ...}` of `task` on `utterances`."""
    waves = [task.waveform(u.path) for u in utterances]
    row = {}
    for decoder, rates in task.decoder_error_rates(waves, [u.text for u in utterances]).items():
        suffix = "" if decoder == "greedy" else "_lm"
        row.update({f"cer{suffix}": rates["cer"], f"wer{suffix}": rates["wer"]})
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=["asr_crnn_synthetic_en"])
    parser.add_argument("--sets", default=",".join(REAL_SPEECH_SETS),
                        help="comma-separated set names (default: all)")
    parser.add_argument("--finetune-on", default="",
                        help="comma-separated sets to fine-tune each model on first")
    parser.add_argument("--epochs", type=int, default=12, help="fine-tuning epochs")
    parser.add_argument("--asterisk", action="store_true", help="also score the Asterisk set")
    parser.add_argument("--out", default="runs/speech_real_sets.json")
    args = parser.parse_args()
    tune_on = [n for n in args.finetune_on.split(",") if n]
    sets = {name: real_speech_set(name) for name in args.sets.split(",") if name not in tune_on}
    if args.asterisk:
        sets["asterisk"] = asterisk_corpus()
    results = []
    for name in args.models:
        task = model_zoo.load(name)
        title = f"`{task.metadata.full_name}`"
        if tune_on:
            started = time.time()
            task = task.finetune([u for s in tune_on for u in real_speech_set(s)],
                                 epochs=args.epochs)
            title += (f" fine-tuned on {', '.join(tune_on)} ({args.epochs} epochs, "
                      f"{time.time() - started:.0f} s; {task.finetune_metrics})")
        print(f"\n{title}\n\n| set | clips | CER greedy | CER + LM | "
              f"WER greedy | WER + LM |\n|---|---|---|---|---|---|")
        rows = {set_name: score(task, items) for set_name, items in sets.items()}
        small = [u for set_name, items in sets.items() if set_name != "asterisk" for u in items]
        rows["all small sets"] = score(task, small)
        for set_name, r in rows.items():
            clips = len(sets[set_name]) if set_name in sets else len(small)
            lm = (f"{r['cer_lm']:.1%}", f"{r['wer_lm']:.1%}") if "cer_lm" in r else ("-", "-")
            print(f"| {set_name} | {clips} | {r['cer']:.1%} | {lm[0]} | {r['wer']:.1%} | "
                  f"{lm[1]} |")
        results.append({"model": title, "finetune_on": tune_on, "sets": rows})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"clips": {k: len(v) for k, v in sets.items()}, "results": results}, f,
                  indent=2)


if __name__ == "__main__":
    main()
