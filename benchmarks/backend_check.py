"""Do the published checkpoints give the same outputs under JAX and torch, and take cuDNN there?

    # 1. here, under TensorFlow: fixed inputs and the reference outputs of every checkpoint
    python benchmarks/backend_check.py reference --out .gpucheck/refs
    # 2. anywhere Keras runs under JAX or torch (a GPU machine: TensorFlow is not needed there)
    KERAS_BACKEND=jax python benchmarks/backend_check.py check --refs .gpucheck/refs
    KERAS_BACKEND=torch python benchmarks/backend_check.py check --refs .gpucheck/refs

Each checkpoint's `model.keras` is loaded with `keras.saving.load_model` (no preprocessing:
tokenizers need TensorFlow, the network does not) and run on a batch of eight inputs: float
inputs drawn from a normal distribution, token inputs drawn from the smallest embedding's
vocabulary with the second half of the batch right-padded with zeros, as real batches are.
`check` prints, per checkpoint, the largest absolute difference from TensorFlow's outputs,
how many recurrent calls of one forward pass ran a cuDNN kernel and how many ran another
path (see `_KernelCounter`), the static `cudnn_report` verdict for that backend (eligible
layers / recurrent layers; a bidirectional layer makes two calls), and the median time of
one `predict_on_batch` (compiled). Matrix products run at full float32
precision (no TF32) so that the differences measure the kernels, not the precision setting.
"""

import argparse
import glob
import importlib
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.timing import median_seconds  # noqa: E402

BATCH = 8
FLOAT_STEPS = 96  # time steps where a float input's length is free
TOKEN_STEPS = 40  # tokens where a token input's length is free


def _import_custom_objects():
    # Importing the model modules registers their serialisable layers; none needs TensorFlow.
    import model_zoo.models.anomaly  # noqa: F401
    import model_zoo.models.forecasting  # noqa: F401
    import model_zoo.models.seq2seq  # noqa: F401
    import model_zoo.models.series_classification  # noqa: F401
    import model_zoo.models.speech  # noqa: F401
    import model_zoo.models.tagging  # noqa: F401
    import model_zoo.models.text  # noqa: F401
    import model_zoo.training.optimizers  # noqa: F401


def _checkpoints(registry):
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(registry, "*", "model.keras")))


def _inputs(model, rng):
    import keras

    vocabularies = [layer.input_dim for layer in model._flatten_layers()
                    if isinstance(layer, keras.layers.Embedding)]
    arrays = []
    for spec in model.inputs:
        tokens = "int" in str(spec.dtype)
        free = TOKEN_STEPS if tokens else FLOAT_STEPS
        shape = [BATCH] + [free if d is None else d for d in spec.shape[1:]]
        if tokens:
            steps = shape[1]
            x = rng.integers(1, min(vocabularies), size=shape).astype("int32")
            for row in range(BATCH // 2, BATCH):  # right padding, different lengths
                x[row, steps - (row - BATCH // 2 + 1) * steps // (BATCH + 2):] = 0
            arrays.append(x)
        else:
            arrays.append(rng.standard_normal(shape).astype("float32"))
    return arrays


def _outputs(model, arrays):
    import keras

    # The inputs in the structure the model was built with (a tensor, a list or a dict).
    out = model(keras.tree.pack_sequence_as(model._inputs_struct, arrays), training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(_to_numpy(o), dtype="float64") for o in out]


def _to_numpy(x):
    import keras

    return keras.ops.convert_to_numpy(x)


def reference(args):
    import keras

    if keras.backend.backend() != "tensorflow":
        raise SystemExit(f"`reference` runs under TensorFlow. Received: {keras.backend.backend()}")
    _import_custom_objects()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(0)
    for directory in _checkpoints(args.registry):
        name = os.path.basename(directory)
        model = keras.saving.load_model(os.path.join(directory, "model.keras"), compile=False)
        arrays = _inputs(model, rng)
        outputs = _outputs(model, arrays)
        np.savez(os.path.join(args.out, f"{name}.npz"),
                 **{f"input_{i}": a for i, a in enumerate(arrays)},
                 **{f"output_{i}": o.astype("float32") for i, o in enumerate(outputs)})
        print(f"{name}: {len(arrays)} input(s), {len(outputs)} output(s)")


class _KernelCounter:
    """Counts, per forward pass, recurrent calls (one per direction) that ran cuDNN or not.

    Keras' LSTM/GRU layers first try `backend.lstm`/`backend.gru` (and a `Bidirectional`
    layer first tries `backend.bidirectional_lstm`/`_gru`, both directions in one call),
    which raise NotImplementedError (masked input, CPU, ...) to fall back to the generic loop
    `backend.rnn`. A returning `backend.lstm` is not proof of cuDNN: torch has a non-cuDNN
    fallback inside it, and JAX's `gru` is a `lax.scan` (JAX has no cuDNN GRU). So cuDNN is
    counted where it is called: torch's `_cudnn_lstm`/`_cudnn_gru` (its fused bidirectional
    functions return only from cuDNN), JAX's `jax.experimental.rnn.lstm` (one call for both
    directions when bidirectional).
    """

    KEYS = ("single", "pair", "loop", "kernel")

    def __init__(self, backend_name):
        from keras.src import backend

        self.backend_name = backend_name
        self.counts = dict.fromkeys(self.KEYS, 0)
        for fn in ("lstm", "gru"):
            setattr(backend, fn, self._wrap(getattr(backend, fn), "single"))
            name = f"bidirectional_{fn}"
            setattr(backend, name, self._wrap(getattr(backend, name), "pair"))
        backend.rnn = self._wrap(backend.rnn, "loop")
        if backend_name == "torch":
            # (`keras.src.backend.torch.rnn` the attribute is a function; the module is wanted)
            torch_rnn = importlib.import_module("keras.src.backend.torch.rnn")
            for fn in ("_cudnn_lstm", "_cudnn_gru"):
                setattr(torch_rnn, fn, self._wrap(getattr(torch_rnn, fn), "kernel"))
        elif backend_name == "jax":
            import jax.experimental.rnn as jax_rnn  # read by keras at each call

            jax_rnn.lstm = self._wrap(jax_rnn.lstm, "kernel")

    def _wrap(self, fn, key):
        def wrapped(*args, **kwargs):
            out = fn(*args, **kwargs)  # an exception is not counted: the caller falls back
            self.counts[key] += 1
            return out

        return wrapped

    def take(self):
        c, self.counts = self.counts, dict.fromkeys(self.KEYS, 0)
        # cuDNN kernels run by single-direction calls (on JAX a pair also calls the kernel once)
        single_cudnn = c["kernel"] - (c["pair"] if self.backend_name == "jax" else 0)
        return {"cudnn": single_cudnn + 2 * c["pair"],
                "other": c["single"] - single_cudnn + c["loop"]}


def _full_precision(backend):
    if backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
        return str(jax.devices()[0])
    if backend == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    return "tensorflow"


def check(args):
    import keras

    from model_zoo.layers import cudnn_report

    backend = keras.backend.backend()
    device = _full_precision(backend)
    _import_custom_objects()
    counter = _KernelCounter(backend)
    rows = []
    for directory in _checkpoints(args.registry):
        name = os.path.basename(directory)
        ref_path = os.path.join(args.refs, f"{name}.npz")
        if not os.path.exists(ref_path):
            print(f"{name}: no reference in {args.refs}, skipped")
            continue
        ref = np.load(ref_path)
        arrays = [ref[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in ref))]
        model = keras.saving.load_model(os.path.join(directory, "model.keras"), compile=False)
        counter.take()
        outputs = _outputs(model, arrays)
        kernels = counter.take()
        diff = max(float(np.max(np.abs(o - ref[f"output_{i}"]))) for i, o in enumerate(outputs))
        scale = max(float(np.max(np.abs(ref[f"output_{i}"]))) for i in range(len(outputs)))
        verdicts = cudnn_report(model)
        static = sum(v.eligible(backend) for v in verdicts)
        # Timed through the compiled predict function (jit on JAX), as `load(...)` tasks run it.
        packed = keras.tree.pack_sequence_as(model._inputs_struct, arrays)
        seconds = median_seconds(lambda: _to_numpy(model.predict_on_batch(packed)))
        rows.append({"checkpoint": name, "max_abs_diff": diff, "max_abs_output": scale,
                     "cudnn_calls": kernels["cudnn"], "other_calls": kernels["other"],
                     "recurrent_layers": len(verdicts), "report_eligible": static,
                     "forward_ms": round(1000 * seconds, 2)})
    print(f"backend {backend}, device {device}, batch {BATCH}")
    print(f"{'checkpoint':34} {'max|diff|':>10} {'max|out|':>9} {'cuDNN':>5} {'other':>5} "
          f"{'report':>7} {'ms':>8}")
    for r in rows:
        print(f"{r['checkpoint']:34} {r['max_abs_diff']:10.2e} {r['max_abs_output']:9.3g} "
              f"{r['cudnn_calls']:5d} {r['other_calls']:5d} "
              f"{r['report_eligible']:>3}/{r['recurrent_layers']:<3} {r['forward_ms']:8.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"backend": backend, "device": device, "rows": rows}, f, indent=2)
    worst = max((r["max_abs_diff"] / max(r["max_abs_output"], 1.0) for r in rows), default=0.0)
    print(f"largest difference relative to max(1, |output|): {worst:.2e}")
    return 0 if worst <= args.tolerance else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference", help="write inputs and TensorFlow outputs")
    ref.add_argument("--out", required=True)
    chk = sub.add_parser("check", help="compare this backend's outputs with the references")
    chk.add_argument("--refs", required=True)
    chk.add_argument("--json", help="also write the table as JSON here")
    chk.add_argument("--tolerance", type=float, default=1e-3,
                     help="largest accepted |difference| / max(1, |output|) (default 1e-3)")
    for p in (ref, chk):
        p.add_argument("--registry", default=os.path.join(ROOT, "checkpoints"))
    args = parser.parse_args(argv)
    return reference(args) if args.command == "reference" else check(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
