"""Wall time of one training epoch of a recipe, with Keras's LSTM/GRU and with the zoo's fused
ones (`FastLSTM`/`FastGRU`), same machine, same run (issue 20).

    python benchmarks/recipe_epoch_time.py [--recipes language_model,translation] [--steps 40]

For each recipe: its default configuration (as `model-zoo train RECIPE` trains it), its own
data pipeline and `fit`, built once with `keras.layers.LSTM`/`GRU` ("keras", the default)
and once with `FastLSTM`/`FastGRU` ("zoo"; `MODEL_ZOO_FAST_RNN_XLA` chooses what XLA compiles); the first `--warmup` steps (tracing, XLA compilation) are not
timed, then `--steps` steps are, and the epoch time is their median step time times the
epoch's steps. Prints seconds per epoch and the ratio.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextlib.contextmanager
def fast_layers(fast):
    """`recurrent_layer` builds the zoo's fused layers (or Keras's) inside the block."""
    import importlib

    rnn_stack = importlib.import_module("model_zoo.layers.rnn_stack")  # the module
    saved = rnn_stack.FAST_BY_DEFAULT
    rnn_stack.FAST_BY_DEFAULT = fast
    try:
        yield
    finally:
        rnn_stack.FAST_BY_DEFAULT = saved


def step_seconds(recipe, config, data, warmup, steps):
    """Median seconds per training step of the recipe's model (built as the recipe builds
    it), and the steps of one epoch."""
    import keras
    import keras_tuner

    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch >= warmup:
                times.append(time.perf_counter() - self.start)
            if len(times) >= steps:
                self.model.stop_training = True

    keras.utils.set_random_seed(0)
    hp = keras_tuner.HyperParameters()
    model = recipe.build_model(hp, config)
    recipe.fit(model, data, config, hp, callbacks=[Clock()], epochs=1, verbose=0)
    per_epoch = _steps_per_epoch(recipe, data, config)
    return statistics.median(times), per_epoch


def _steps_per_epoch(recipe, data, config):
    import keras_tuner  # noqa: F401

    # The recipes' `datasets` take their batch settings from the config (or the profile).
    if recipe.name == "translation":
        train, _ = data.datasets(config["batch_size"], config["max_length"])
    else:
        train, _ = data.datasets(data.profile["batch_size"])
    return int(train.cardinality())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", default="language_model,translation")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=5, help="untimed first steps")
    args = parser.parse_args()

    from model_zoo.training.recipe import get_recipe

    print(f"median of {args.steps} training steps after {args.warmup} untimed; "
          f"seconds per epoch (lower is better)")
    print(f"{'recipe':<16}{'steps/epoch':>12}{'keras s':>10}{'zoo s':>10}{'keras/zoo':>11}")
    for name in args.recipes.split(","):
        recipe = get_recipe(name)
        config = dict(recipe.defaults)
        data = recipe.load_data(config)
        with fast_layers(False):
            before, per_epoch = step_seconds(recipe, config, data, args.warmup, args.steps)
        with fast_layers(True):
            after, _ = step_seconds(recipe, config, data, args.warmup, args.steps)
        print(f"{name:<16}{per_epoch:>12}{before * per_epoch:>10.0f}{after * per_epoch:>10.0f}"
              f"{before / after:>11.2f}")


if __name__ == "__main__":
    main()
