"""Re-runs a finished training run's steps after `fit` on its trained weights.

    python scripts/reevaluate_run.py RUN_DIR --why "what changed"

For when a recipe's post-training code (`make_task`, `evaluate`) changed after a long training
run: the run's weights are kept as they are, and `make_task`, `evaluate` on the test split and
on the quick-check sample are run again with the recipe as it is now (config keys the run did
not have take the recipe's defaults). The run's checkpoint is rewritten (all or nothing),
then its metrics.json, with `metrics["reevaluated"]` saying when and why; the baselines and the
training history are those of the original run. `model-zoo publish RUN_DIR` then publishes
it. A fresh `model-zoo train` of the recorded command does all of this in one process.
"""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--why", required=True, help="what changed since the run (recorded)")
    args = parser.parse_args(argv)

    import model_zoo
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import _jsonable, _write_json

    checkpoint = os.path.join(os.path.abspath(args.run_dir), "checkpoint")
    old = model_zoo.load(checkpoint)
    metadata = CheckpointMetadata.load(checkpoint)
    recipe = get_recipe(metadata.recipe)
    config = {**recipe.defaults, **metadata.config["config"]}
    data = recipe.load_data(config)
    task = recipe.make_task(old.model, data, config)
    test = recipe.evaluate(task, data, config)
    sample = recipe.evaluate(task, data, config, limit=recipe.sample_size)
    before = {k: metadata.metrics[k] for k in ("test", "test_sample")}
    metadata.metrics = _jsonable({
        **metadata.metrics, "test": test,
        "test_sample": {"limit": recipe.sample_size, **sample},
        "reevaluated": {"date": datetime.date.today().isoformat(), "why": args.why,
                        "before": before}})
    metadata.config = {**metadata.config, "config": config}
    task.save(checkpoint, metadata, overwrite=True)
    _write_json(os.path.join(args.run_dir, "metrics.json"), metadata.metrics)
    print(json.dumps({"test": test, "before": before["test"]}, indent=2))


if __name__ == "__main__":
    main()
