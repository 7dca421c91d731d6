"""Train-step and inference throughput of the zoo's LSTM/GRU stacks vs PyTorch, on the CPU.

    python benchmarks/rnn_throughput.py [--batch 64] [--steps 100] [--features 32]
                                         [--units 128] [--depth 2] [--repeats 20]

Same shapes, same thread count, one run: a two-layer stack with a dense head on the last time
step, MSE loss, Adam. Prints samples per second and the ratio zoo / torch (>1: the zoo is
faster). No optimisation is attempted here; these numbers are the baseline later work compares
against. PyTorch is optional (`pip install 'model-zoo[bench]'`); without it only the zoo's
numbers are printed.
"""

import argparse
import importlib.util
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import median_seconds  # noqa: E402


def keras_throughput(cell, args, x, y):
    import keras
    import tensorflow as tf

    from model_zoo.layers import rnn_stack

    inputs = keras.Input((args.steps, args.features))
    h = rnn_stack(inputs, cell=cell, units=args.units, depth=args.depth)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    train = median_seconds(lambda: model.train_on_batch(x, y), args.repeats, warmup=3)
    infer_fn = tf.function(lambda t: model(t, training=False))
    xt = tf.constant(x)
    infer = median_seconds(lambda: infer_fn(xt).numpy(), args.repeats, warmup=3)
    return args.batch / train, args.batch / infer


def torch_throughput(cell, args, x, y):
    import torch

    torch.manual_seed(0)
    rnn_cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn_cls(args.features, args.units, num_layers=args.depth,
                               batch_first=True)
            self.head = torch.nn.Linear(args.units, 1)

        def forward(self, t):
            out, _ = self.rnn(t)
            return self.head(out[:, -1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()

    train = median_seconds(step, args.repeats, warmup=3)
    net.eval()

    def infer():
        with torch.no_grad():
            net(xt).numpy()

    return args.batch / train, args.batch / median_seconds(infer, args.repeats, warmup=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.steps, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    have_torch = importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch.set_num_threads(args.threads)
    print(f"shapes: batch={args.batch} steps={args.steps} features={args.features} "
          f"units={args.units} depth={args.depth}; threads={args.threads}; median of "
          f"{args.repeats}; samples/s (higher is better)")
    header = f"{'cell':<5} {'phase':<9} {'zoo (keras/tf)':>15} {'torch':>10} {'zoo/torch':>10}"
    print(header)
    print("-" * len(header))
    for cell in ("lstm", "gru"):
        k_train, k_infer = keras_throughput(cell, args, x, y)
        t_train, t_infer = torch_throughput(cell, args, x, y) if have_torch else (None, None)
        for phase, k, t in (("train", k_train, t_train), ("inference", k_infer, t_infer)):
            shown = f"{t:>10.0f} {k / t:>10.2f}" if t else f"{'-':>10} {'-':>10}"
            print(f"{cell:<5} {phase:<9} {k:>15.0f} {shown}")


if __name__ == "__main__":
    main()
