"""Cold-start time of the `model-zoo` command: help and listings, and `predict` for three tasks.

    python benchmarks/cli_cold_start.py [--repeats 3]

Each command runs as a fresh process (the console script of this virtual environment), so the
time includes Python's start-up and every import: what a user waits for. Help, version, `list`
and `info` import no TensorFlow; `predict` must (it runs a network), so it is compared with the
time of `import tensorflow` alone, measured in the same run. Prints the median seconds of each.
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import median_seconds  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINEIND = os.path.join(ROOT, "examples", "data", "wineind.csv")

COMMANDS = [
    ("--help", ["--help"]),
    ("--version", ["--version"]),
    ("list", ["list"]),
    ("info", ["info", "forecast_lstm_co2"]),
    ("predict NAME --help", ["predict", "sentiment_bigru_imdb", "--help"]),
    ("generate --help", ["generate", "--help"]),
    ("predict forecasting", ["predict", "forecast_lstm_airline", "--csv", WINEIND,
                             "--column", "bottles", "--horizon", "12"]),
    ("predict text classification", ["predict", "sentiment_bigru_imdb", "--text",
                                     "A moving, beautifully acted film."]),
    ("predict tagging", ["predict", "tagging_bilstm_brown", "--text",
                         "The jury praised the city."]),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    script = os.path.join(os.path.dirname(sys.executable), "model-zoo")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "model_zoo.cli"]

    def timed(argv):
        def call():
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        return median_seconds(call, args.repeats, warmup=1)

    reference = timed([sys.executable, "-c", "import tensorflow"])
    print(f"median of {args.repeats} fresh processes; `import tensorflow` alone: "
          f"{reference:.2f} s")
    print(f"{'command':<30}{'seconds':>9}{'/ import tf':>13}")
    for label, argv in COMMANDS:
        seconds = timed(command + argv)
        print(f"{label:<30}{seconds:>9.2f}{seconds / reference:>13.2f}")


if __name__ == "__main__":
    main()
