"""Beam size and length penalty for the translator, chosen on the validation books only.

    python benchmarks/translation_decoding.py [--name translation_bilstm_bible_en_es]
        [--beams 1 5 8] [--alphas 0.6 0.8 1.0 1.2]

The translation recipe's own `choose_decoding` over a grid of your choice: every verse of the
validation books (never trained on, never the test books) is translated with each (beam size,
alpha), and the pair with the best sacreBLEU there is chosen. Only then are the test books
translated, once with the checkpoint's own settings and once with the chosen pair, through
the recipe's `evaluate`. Prints both tables.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="translation_bilstm_bible_en_es")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5, 8])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.6, 0.8, 1.0, 1.2])
    args = parser.parse_args(argv)

    import model_zoo
    from model_zoo.training.recipe import get_recipe

    recipe = get_recipe("translation")  # imports recipes/ as model_zoo_recipes
    from model_zoo_recipes.translation import choose_decoding
    task = model_zoo.load(args.name)
    config = {**recipe.defaults, **task.metadata.config["config"], "beam_sizes": args.beams,
              "alphas": args.alphas, "validation_limit": 0, "test_limit": 0}
    data = recipe.load_data(config)
    chosen = choose_decoding(model_zoo.load(args.name), data, config)
    choice = chosen.preprocessing["decoding_choice"]
    print(f"{task.metadata.full_name}, chosen on {choice['chosen_on']}:")
    print("| beam | alpha | validation BLEU |\n|---|---|---|")
    for row in choice["bleu"]:
        print(f"| {row['beam_size']} | {row['alpha']} | {row['bleu']:.2f} |")
    print("\n| setting (test books) | BLEU | chrF |\n|---|---|---|")
    for label, t in (("checkpoint's", task), ("chosen on validation", chosen)):
        r = recipe.evaluate(t, data, config)
        print(f"| {label} (beam {r['beam_size']}, alpha {r['alpha']}) | {r['bleu']:.2f} | "
              f"{r['chrf']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
