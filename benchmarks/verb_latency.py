"""The network call behind the task verbs: eager against compiled, and what tracing costs.

    python benchmarks/verb_latency.py [--repeats 20]

The verbs of forecasting, series classification, anomaly detection and tagging call their
network through `model_zoo.models.step_functions.inference_function` (traced once per model).
For one published checkpoint of each, on the input of its `predict_example`'s size, this
prints in one run: the median milliseconds of an eager `model(x, training=False)` call, of the
compiled call, their ratio, and the one-off cost of the first compiled call (the trace).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import median_seconds  # noqa: E402

NAMES = ["forecast_lstm_airline", "classify_bigru_italypowerdemand", "anomaly_lstmae_ucr135",
         "tagging_bilstm_brown"]


def example_input(model, rng):
    """A batch of 8 random inputs shaped like the model's input (free dimensions: 24)."""
    def one(tensor):
        shape = [8] + [d or 24 for d in tensor.shape[1:]]
        if "int" in str(tensor.dtype):
            return rng.integers(1, 50, size=shape).astype("int32")
        return rng.normal(size=shape).astype("float32")

    inputs = model.input
    return {k: one(v) for k, v in inputs.items()} if isinstance(inputs, dict) else one(inputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measure")
    args = parser.parse_args()

    import model_zoo
    from model_zoo.models.step_functions import inference_function

    rng = np.random.default_rng(0)
    print(f"{'checkpoint':<34}{'eager ms':>10}{'compiled ms':>13}{'ratio':>8}{'trace s':>9}")
    for name in NAMES:
        model = model_zoo.load(name).model
        x = example_input(model, rng)
        eager = median_seconds(lambda: model(x, training=False), args.repeats)
        compiled = inference_function(model)
        start = time.perf_counter()
        compiled(x)
        trace = time.perf_counter() - start
        fast = median_seconds(lambda: compiled(x), args.repeats, warmup=0)
        print(f"{name:<34}{1e3 * eager:>10.1f}{1e3 * fast:>13.2f}{eager / fast:>8.0f}"
              f"{trace:>9.2f}")


if __name__ == "__main__":
    main()
