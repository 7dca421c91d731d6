"""Characters per second: stateful compiled decoding vs re-running the whole prefix.

    python benchmarks/char_generation.py [--model charlm_lstm_shakespeare] [--chars 400]

Both decoders use the same model in the same run. `generate` runs one compiled step per
character (embedding, LSTM cells with carried states, output layer and sampling); the naive
loop calls the model on the full prefix for every new character, so its cost per character
grows with the text's length. Printed: characters per second of each and their ratio, for
one sequence and for a batch of sequences (the naive loop has no batching of its own: it is
timed on one sequence and the stateful decoder on the batch).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="charlm_lstm_shakespeare")
    parser.add_argument("--chars", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--prompt", default="ROMEO.\n")
    args = parser.parse_args(argv)

    import model_zoo

    lm = model_zoo.load(args.model)
    lm.generate(args.prompt, max_chars=8, seed=0)  # compile the step
    lm.generate_naive(args.prompt, 8, seed=0)  # trace the naive call

    start = time.perf_counter()
    lm.generate(args.prompt, max_chars=args.chars, temperature=0.8, seed=1)
    stateful = args.chars / (time.perf_counter() - start)

    start = time.perf_counter()
    lm.generate_naive(args.prompt, args.chars, temperature=0.8, seed=1)
    naive = args.chars / (time.perf_counter() - start)

    lm.generate([args.prompt] * args.batch, max_chars=8, seed=0)
    start = time.perf_counter()
    lm.generate([args.prompt] * args.batch, max_chars=args.chars, temperature=0.8, seed=1)
    batched = args.batch * args.chars / (time.perf_counter() - start)

    print(f"model: {lm.name} ({lm.model.count_params():,} parameters), {args.chars} characters "
          f"after a {len(args.prompt)}-character prompt")
    print(f"naive full-prefix loop:        {naive:10.1f} chars/s")
    print(f"stateful compiled step:        {stateful:10.1f} chars/s   ratio {stateful / naive:.1f}x")
    print(f"stateful, batch of {args.batch:<3}:        {batched:10.1f} chars/s   "
          f"ratio {batched / naive:.1f}x")


if __name__ == "__main__":
    main()
