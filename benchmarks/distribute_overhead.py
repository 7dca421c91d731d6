"""What data-parallel training costs here: seconds per epoch on one device against
`--distribute mirrored` over N logical devices, measured in one run of this script.

    python benchmarks/distribute_overhead.py --recipe forecasting --devices 2 --epochs 4

Both runs are `model-zoo train` subprocesses with the same settings and global batch size; the
distributed one gets `MODEL_ZOO_CPU_DEVICES=N` (N logical devices of the one CPU, or the
machine's GPUs when it has some). Seconds per epoch: the training time each run records
(`train_seconds`: loading the data, building and fitting) over the epochs it ran, so the
fixed costs count in both alike. On a CPU, logical devices share the same cores: the ratio
is the overhead of the strategy (splitting batches, summing gradients), not a speed-up.
Multi-worker training is not measured: Keras 3 cannot train under
MultiWorkerMirroredStrategy (see `model_zoo/training/distribute.py`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

SETTINGS = {
    "forecasting": ["--set", "dataset=airline", "--set", "val_size=13", "--set", "pretrain="],
    "sentiment": ["--set", "dataset=rotten_tomatoes", "--set", "train_size=2048"],
}


def run(recipe, epochs, run_dir, devices=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, "-m", "model_zoo.cli", "train", recipe, *SETTINGS[recipe],
            "--epochs", str(epochs), "--run-dir", run_dir, "--quiet"]
    if devices:
        env["MODEL_ZOO_CPU_DEVICES"] = str(devices)
        args += ["--distribute", "mirrored"]
    subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    return metrics["train_seconds"] / max(metrics["epochs_run"], 1), metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", choices=sorted(SETTINGS), default="forecasting")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        one, _ = run(args.recipe, args.epochs, os.path.join(work, "one"))
        many, metrics = run(args.recipe, args.epochs, os.path.join(work, "many"), args.devices)
    replicas = metrics["distribute"]["replicas"]
    print(f"| recipe | one device, s/epoch | mirrored x{replicas}, s/epoch | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.recipe} | {one:.2f} | {many:.2f} | {many / one:.2f} |")


if __name__ == "__main__":
    main()
