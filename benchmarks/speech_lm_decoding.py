"""A character language model fused into CTC beam search: what it does to CER and WER.

    python benchmarks/speech_lm_decoding.py [--model asr_crnn_synthetic_en] [--order 6]

1. The language model: `CharNgramLM` (interpolated Kneser-Ney over characters) fitted on
   `--lm-texts` transcripts drawn from the speech recipe's own text sources
   (`corpus_texts`: phone-menu prompts, numbers, runs of the Asterisk vocabulary, lines of
   Shakespeare) with a seed other than the corpus's. It has never seen a real test sentence.
2. The fusion weights `alpha` (language model) and `beta` (bonus per character) are chosen on
   the synthetic VALIDATION clips only, by CER, over a small grid.
3. The real Asterisk recordings and the held-out synthetic voices are then decoded four ways
   from the same logits: greedy, `keras.ops.ctc_decode` beam search, prefix beam search
   without the language model, and with it.

Prints a Markdown table and writes the numbers to `--out` (JSON); `--save DIR` writes the
recogniser with its language model as a checkpoint folder (`model_zoo.load(DIR)`).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import model_zoo  # noqa: E402
from model_zoo.data.audio import from_int16  # noqa: E402
from model_zoo.data.speech_corpus import corpus_texts  # noqa: E402
from model_zoo.metrics.speech import error_rates  # noqa: E402
from model_zoo.models.speech import CharNgramLM  # noqa: E402
from model_zoo.training.recipe import get_recipe  # noqa: E402


def score(task, logits, references, decoder, beam_width, **fusion):
    if fusion:
        task = task.with_language_model(task.language_model, **fusion)
    started = time.monotonic()
    hypotheses = task.decode(logits, decoder, beam_width)
    rates = error_rates(references, hypotheses)
    rates["seconds"] = round(time.monotonic() - started, 1)
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="asr_crnn_synthetic_en")
    parser.add_argument("--order", type=int, default=6)
    parser.add_argument("--lm-texts", type=int, default=100_000)
    parser.add_argument("--lm-seed", type=int, default=1)
    parser.add_argument("--alphas", default="0.25,0.5,0.75,1.0")
    parser.add_argument("--betas", default="0.0,1.0,2.0")
    parser.add_argument("--beam-width", type=int, default=16)
    parser.add_argument("--limit", type=int, default=0, help="clips per set (0: all)")
    parser.add_argument("--out", default="runs/speech_lm_decoding.json")
    parser.add_argument("--save", default=None, help="write the recogniser + LM here")
    args = parser.parse_args(argv)

    base = model_zoo.load(args.model)
    recipe = get_recipe(base.metadata.recipe)
    config = {**recipe.defaults, **base.metadata.config["config"]}
    data = recipe.load_data(config)
    cut = (lambda xs: xs[:args.limit]) if args.limit else (lambda xs: xs)

    started = time.monotonic()
    texts = corpus_texts(args.lm_texts, seed=args.lm_seed)
    lm = CharNgramLM.fit(texts, base.alphabet.characters, order=args.order)
    print(f"{lm}: {sum(map(len, texts)):,} characters of text, "
          f"{time.monotonic() - started:.0f} s", flush=True)
    task = base.with_language_model(lm)

    sets = {}
    for name in ("val", "test"):
        waves, _, refs = data.split(name)
        sets[name] = (task.logits([from_int16(w) for w in cut(waves)]), list(cut(refs)))
    real = cut(data.real)
    sets["real"] = (task.logits([task.waveform(u.path) for u in real]), [u.text for u in real])

    # Fusion weights from the synthetic validation clips only.
    val_logits, val_refs = sets["val"]
    task, grid = task.tune_language_model(
        lm, val_logits, val_refs, alphas=[float(a) for a in args.alphas.split(",")],
        betas=[float(b) for b in args.betas.split(",")], beam_width=args.beam_width)
    for row in grid:
        print(f"validation alpha={row['alpha']} beta={row['beta']}: CER {row['cer']:.4f} "
              f"WER {row['wer']:.4f}", flush=True)
    fusion = {k: task.preprocessing["language_model"][k] for k in ("alpha", "beta")}

    decoders = {"greedy": ("greedy", {}),
                f"beam (keras, {args.beam_width})": ("beam_search", {}),
                "prefix beam, no LM": ("beam_search_lm", {"alpha": 0.0, "beta": 0.0}),
                f"prefix beam + {args.order}-gram LM": ("beam_search_lm", fusion)}
    results = {}
    for set_name in ("real", "test"):
        logits, refs = sets[set_name]
        for label, (decoder, weights) in decoders.items():
            rates = score(task, logits, refs, decoder, args.beam_width, **weights)
            results[f"{set_name}/{label}"] = rates
            print(f"{set_name:5s} {label:28s} CER {rates['cer']:.4f} WER {rates['wer']:.4f} "
                  f"({rates['seconds']} s)", flush=True)

    names = {"real": "real: Asterisk", "test": "synthetic held-out voices"}
    print(f"\nfusion weights chosen on synthetic validation: alpha={fusion['alpha']}, "
          f"beta={fusion['beta']}\n")
    print("| decoder | " + " | ".join(f"{names[s]} CER | WER" for s in ("real", "test")) + " |")
    print("|---|" + "---|---|" * 2)
    for label in decoders:
        cells = []
        for s in ("real", "test"):
            r = results[f"{s}/{label}"]
            cells += [f"{100 * r['cer']:.1f}%", f"{100 * r['wer']:.1f}%"]
        print(f"| {label} | " + " | ".join(cells) + " |")

    report = {"model": base.name, "beam_width": args.beam_width, "lm": {"order": args.order, "texts": args.lm_texts,
                                         "seed": args.lm_seed, "ngrams": len(lm.counts)},
              "fusion": fusion, "grid": grid, "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    if args.save:
        task.with_language_model(lm, **fusion).save(args.save, overwrite=True)
        print(f"saved {args.save}")
    return report


if __name__ == "__main__":
    main()
