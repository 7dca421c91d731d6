"""CER of speech checkpoints on one corpus seed's synthetic validation clips.

    python scripts/speech_validation_cer.py --corpus-seed 3 --out runs/select_seed3_val.json \
        asr_crnn_synthetic_en@4 runs/asr_seed3_depth4/checkpoint
    python scripts/speech_validation_cer.py --corpus-seed 5 --voices espeak:0.15,piper:0.25,... \
        --out runs/select_seed5_val.json asr_crnn_synthetic_en@5 ~/model_zoo_runs/asr_v6/checkpoint

How a new `asr_crnn_synthetic_en` version is chosen (recipes/speech_recognition.md): every
candidate, and the published version it would replace, is measured on the validation clips of
the corpus seed the candidates trained on (clips none of them trained on), with the greedy
decoder and with the checkpoint's own default (beam search + its language model). The real
recordings play no part. Results are added to `--out` (JSON) as each checkpoint finishes.
`--split test` reads the seed's held-out synthetic voices instead (a comparison, not a choice).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="registry names or checkpoint folders")
    parser.add_argument("--corpus-seed", type=int, required=True)
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--voices", default="",
                        help="the candidates' voice mix (recipe setting `voices`)")
    parser.add_argument("--out", required=True, help="JSON file the results are added to")
    args = parser.parse_args(argv)

    import model_zoo
    from model_zoo.data.audio import from_int16
    from recipes.speech_recognition import DEFAULTS, SpeechData

    data = SpeechData({**DEFAULTS, "corpus_seed": args.corpus_seed, "voices": args.voices})
    waves, _, texts = data.split(args.split)
    results = {}
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            results = json.load(f)
    for name in args.checkpoints:
        rates = model_zoo.load(name).decoder_error_rates([from_int16(w) for w in waves], texts)
        row = {decoder: r["cer"] for decoder, r in rates.items()}
        results[name] = {**row, "clips": len(texts), "corpus_seed": args.corpus_seed,
                         "voices": args.voices, "split": args.split}
        print(name, results[name], flush=True)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
