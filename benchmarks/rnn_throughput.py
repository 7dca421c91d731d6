"""CPU throughput of LSTM/GRU: keras.layers (before), the zoo's FastLSTM/FastGRU, and PyTorch.

    python benchmarks/rnn_throughput.py [--shapes small|large|all] [--repeats 5]
                                         [--threads N] [--no-torch]

One run measures the machine's SGEMM peak (a 2048^3 float32 matmul, best of TensorFlow and
numpy), then, for each shape (batch, time, features, units) and each case (LSTM, GRU,
bidirectional LSTM, 2-layer LSTM, and a masked LSTM and GRU with right-padded variable
lengths), the sequences per second of a train step (forward, backward and Adam on a model with
a dense head on the last output, MSE) and of inference, for `keras.layers.LSTM`/`GRU`, the
zoo's `FastLSTM`/`FastGRU` (their default TensorFlow loop, and as "zoo-dnnl" the compiled
oneDNN kernel where scripts/build_dnnl_rnn.sh built it) and (when importable)
`torch.nn.LSTM`/`GRU`, all on the same number of threads. Each side's share of peak counts
the recurrent layers' matmul FLOPs, 2*B*T*(I+H)*gates*H per direction and layer (gates: 4
LSTM, 3 GRU), a train step as 3x the forward pass.
"""

import argparse
import importlib.util
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import median_seconds  # noqa: E402

SHAPES = {"small": (64, 100, 64, 256), "large": (32, 200, 128, 512)}
# name: (cell, depth, bidirectional, masked)
CASES = {
    "lstm": ("lstm", 1, False, False),
    "gru": ("gru", 1, False, False),
    "bilstm": ("lstm", 1, True, False),
    "lstm x2": ("lstm", 2, False, False),
    "lstm masked": ("lstm", 1, False, True),
    "gru masked": ("gru", 1, False, True),
}
GATES = {"lstm": 4, "gru": 3}


def sgemm_peak(n=2048, tries=5):
    """FLOP/s of the best of `tries` n^3 float32 matmuls, TensorFlow's or numpy's.

    TensorFlow's runs in a `tf.function` (eager `tf.matmul` measured half as fast here) and
    returns a scalar, so that no copy of the product is timed.
    """
    import numpy as np
    import tensorflow as tf

    a = np.random.default_rng(0).normal(size=(n, n)).astype("float32")
    ta = tf.constant(a)
    tf_matmul = tf.function(lambda t: tf.reduce_sum(tf.matmul(t, t)))
    best = {}
    for name, fn in (("tensorflow", lambda: tf_matmul(ta).numpy()),
                     ("numpy", lambda: a @ a)):
        fn()
        best[name] = 2 * n**3 / min(median_seconds(fn, 1, 0) for _ in range(tries))
    return max(best.values()), best


def forward_flops(shape, cell, depth, bidirectional):
    batch, steps, features, units = shape
    flops, size = 0, features
    for _ in range(depth):
        flops += (2 if bidirectional else 1) * 2 * batch * steps * (size + units) * \
            GATES[cell] * units
        size = units * (2 if bidirectional else 1)
    return flops


def make_data(shape, masked, seed=0):
    """Inputs, targets and per-sequence lengths (right-padded with zeros when `masked`)."""
    import numpy as np

    batch, steps, features, _ = shape
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    lengths = np.full(batch, steps)
    if masked:
        lengths = rng.integers(steps // 2, steps + 1, size=batch)
        lengths[0] = steps
        x[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    y = rng.normal(size=(batch, 1)).astype("float32")
    return x, y, lengths


def keras_throughput(impl, shape, case, x, y, repeats):
    """(train, inference) seconds of `impl` ("keras" or "zoo")."""
    import keras
    import tensorflow as tf

    from model_zoo.layers import FastGRU, FastLSTM

    cell, depth, bidirectional, masked = case
    classes = {"keras": {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU},
               "zoo": {"lstm": FastLSTM, "gru": FastGRU},
               "zoo-dnnl": {"lstm": FastLSTM, "gru": FastGRU}}[impl]
    # "zoo-dnnl": the zoo's layers on the compiled oneDNN kernel (MODEL_ZOO_DNNL_RNN=1).
    os.environ["MODEL_ZOO_DNNL_RNN"] = "1" if impl == "zoo-dnnl" else "0"
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape[1:3])
    h = keras.layers.Masking(0.0)(inputs) if masked else inputs
    for i in range(depth):
        layer = classes[cell](shape[3], return_sequences=i < depth - 1)
        h = (keras.layers.Bidirectional(layer) if bidirectional else layer)(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    train = median_seconds(lambda: model.train_on_batch(x, y), repeats, warmup=2)
    infer_fn = tf.function(lambda t: model(t, training=False))
    xt = tf.constant(x)
    infer = median_seconds(lambda: infer_fn(xt).numpy(), repeats, warmup=2)
    return train, infer


def torch_throughput(shape, case, x, y, lengths, repeats):
    import torch

    cell, depth, bidirectional, masked = case
    torch.manual_seed(0)
    rnn_cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    units = shape[3]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn_cls(shape[2], units, num_layers=depth, batch_first=True,
                               bidirectional=bidirectional)
            self.head = torch.nn.Linear(units * (2 if bidirectional else 1), 1)

        def forward(self, t):
            if masked:
                t = torch.nn.utils.rnn.pack_padded_sequence(
                    t, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False)
            _, state = self.rnn(t)
            h_n = state[0] if cell == "lstm" else state
            last = h_n[-2:] if bidirectional else h_n[-1:]
            return self.head(torch.cat(list(last), dim=-1))

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()

    train = median_seconds(step, repeats, warmup=2)
    net.eval()

    def infer():
        with torch.no_grad():
            net(xt).numpy()

    return train, median_seconds(infer, repeats, warmup=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", choices=("small", "large", "all"), default="all")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {', '.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",")]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {list(CASES)}")

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    have_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    if have_torch:
        import torch

        torch.set_num_threads(args.threads)
    peak, peaks = sgemm_peak()
    print(f"SGEMM peak (2048^3 float32, best of 5): {peak / 1e9:.1f} GFLOP/s "
          f"({', '.join(f'{k} {v / 1e9:.1f}' for k, v in peaks.items())}); "
          f"threads={args.threads}; median of {args.repeats}; seq/s, higher is better")
    from model_zoo.layers.fast_rnn import dnnl_kernel_reason

    # "zoo" is what FastLSTM/FastGRU run by default (the TensorFlow loop); "zoo-dnnl" the same
    # layers on the compiled oneDNN kernel, where it is built (unmasked cases; masked ones
    # keep the loop).
    os.environ["MODEL_ZOO_DNNL_RNN"] = "1"
    dnnl = dnnl_kernel_reason()
    impls = ["keras", "zoo"] + (["zoo-dnnl"] if dnnl is None else [])
    print(f"oneDNN kernel: {'built (column zoo-dnnl)' if dnnl is None else dnnl}")
    sides = impls + (["torch"] if have_torch else [])
    header = (f"{'shape (B,T,I,H)':<18} {'case':<12} {'phase':<6} "
              + " ".join(f"{k:>8}" for k in sides) + f" {'zoo/keras':>9} {'zoo/torch':>9} "
              + " ".join(f"{'%pk ' + k:>11}" for k in sides))
    print(header)
    print("-" * len(header))
    shapes = list(SHAPES) if args.shapes == "all" else [args.shapes]
    start = time.time()
    for shape_name in shapes:
        shape = SHAPES[shape_name]
        for name in cases:
            case = CASES[name]
            x, y, lengths = make_data(shape, case[3])
            results = {impl: keras_throughput(impl, shape, case, x, y, args.repeats)
                       for impl in impls}
            if have_torch:
                results["torch"] = torch_throughput(shape, case, x, y, lengths, args.repeats)
            flops = forward_flops(shape, *case[:3])
            for i, phase in enumerate(("train", "infer")):
                rate = {k: shape[0] / v[i] for k, v in results.items()}
                work = flops * (3 if phase == "train" else 1)
                share = {k: 100 * work / v[i] / peak for k, v in results.items()}
                t = rate.get("torch", float("nan"))
                print(f"{str(shape):<18} {name:<12} {phase:<6} "
                      + " ".join(f"{rate[k]:>8.0f}" for k in sides)
                      + f" {rate['zoo'] / rate['keras']:>9.2f} {rate['zoo'] / t:>9.2f} "
                      + " ".join(f"{share[k]:>10.1f}%" for k in sides), flush=True)
    print(f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
