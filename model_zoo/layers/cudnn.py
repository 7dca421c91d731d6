"""`cudnn_report(model)`: which recurrent layers can take the cuDNN kernel, per backend, and why not.

Each verdict also names the layer's CPU path: `fast` (the zoo's fused loop) or why not.

The rules are those of Keras 3.15's LSTM/GRU layers and of each backend's `rnn.lstm`/`rnn.gru`:

* every backend: `use_cudnn` not False, activation tanh, recurrent activation sigmoid, a bias,
  no recurrent dropout, no unrolling; GRU also needs `reset_after=True`;
* TensorFlow: a mask is accepted if it is right-padded (checked at run time);
* JAX and torch: a masked input always falls back to the generic loop;
* JAX has no cuDNN GRU (`jax.experimental.rnn` has only an LSTM): Keras runs a GRU there as
  a `lax.scan` with the input projections precomputed, never as cuDNN;
* `SimpleRNN`, `ConvLSTM*` and `keras.layers.RNN` over any cell (the peephole LSTM included)
  have no cuDNN kernel anywhere.

This is a static report: it reads layer arguments and the model graph, and needs no GPU.
`benchmarks/backend_check.py` checks it against what runs on a GPU under JAX and torch.
"""

import dataclasses

import keras

from model_zoo.layers.fast_rnn import dnnl_kernel_reason, fast_path_reason

BACKENDS = ("tensorflow", "jax", "torch")
JAX_GRU = "GRU on JAX: jax.experimental.rnn has no cuDNN GRU, Keras runs a lax.scan"


@dataclasses.dataclass
class LayerVerdict:
    """The report for one recurrent layer.

    `reasons[backend]` lists what prevents the cuDNN kernel on that backend (empty: eligible).
    `cpu` is the path on a CPU here and now: `"fast"` for the zoo's fused loop (`FastLSTM`,
    `FastGRU`; with `MODEL_ZOO_DNNL_RNN=1` and the kernel built, `"fast (oneDNN kernel when
    unmasked)"`), otherwise why the layer runs Keras's generic loop (`fast_path_reason`).
    """

    name: str
    kind: str
    reasons: dict
    notes: list = dataclasses.field(default_factory=list)
    cpu: str = ""

    def eligible(self, backend=None):
        backends = [backend] if backend else BACKENDS
        return all(not self.reasons[b] for b in backends)


class CudnnReport(list):
    """A list of `LayerVerdict`s, one per recurrent layer, with a readable `str()`."""

    @property
    def all_eligible(self):
        return all(v.eligible() for v in self)

    def to_dict(self):
        return [dataclasses.asdict(v) for v in self]

    def __str__(self):
        if not self:
            return "No recurrent layers."
        lines = []
        for v in self:
            status = "  ".join(
                f"{b}: {'yes' if not v.reasons[b] else 'NO'}" for b in BACKENDS
            )
            lines.append(f"{v.name} ({v.kind})  {status}  cpu: {v.cpu}")
            blockers = sorted({r for b in BACKENDS for r in v.reasons[b]})
            lines.extend(f"    - {r}" for r in blockers)
            lines.extend(f"    note: {n}" for n in v.notes)
        return "\n".join(lines)


def _activation_name(fn):
    return getattr(fn, "__name__", str(fn))


def _argument_reasons(layer):
    """Reasons that hold on every backend, read from an LSTM or GRU layer's arguments."""
    cell = layer.cell
    reasons = []
    if getattr(layer, "use_cudnn", "auto") is False:
        reasons.append("use_cudnn=False")
    if _activation_name(cell.activation) != "tanh":
        reasons.append(f"activation={_activation_name(cell.activation)} (cuDNN needs tanh)")
    if _activation_name(cell.recurrent_activation) != "sigmoid":
        reasons.append(
            f"recurrent_activation={_activation_name(cell.recurrent_activation)} "
            "(cuDNN needs sigmoid)"
        )
    if not cell.use_bias:
        reasons.append("use_bias=False (cuDNN needs a bias)")
    if cell.recurrent_dropout:
        reasons.append(f"recurrent_dropout={cell.recurrent_dropout} (cuDNN needs 0)")
    if layer.unroll:
        reasons.append("unroll=True (cuDNN needs the rolled loop)")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        reasons.append("reset_after=False (cuDNN GRU needs reset_after=True)")
    return reasons


def _verdict(layer, masked, path):
    verdict = _cudnn_verdict(layer, masked, path)
    fast = "fast" if dnnl_kernel_reason() else "fast (oneDNN kernel when unmasked)"
    verdict.cpu = fast_path_reason(layer) or fast
    return verdict


def _cudnn_verdict(layer, masked, path):
    name = path
    if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        common = _argument_reasons(layer)
        reasons = {b: list(common) for b in BACKENDS}
        notes = []
        if isinstance(layer, keras.layers.GRU):
            reasons["jax"].append(JAX_GRU)
            notes.append("JAX runs GRU as a lax.scan (no cuDNN GRU there)")
        if masked:
            msg = "receives a mask: Keras runs masked input on the generic loop on this backend"
            reasons["jax"].append(msg)
            reasons["torch"].append(msg)
            notes.append("tensorflow takes cuDNN with a mask only if it is right-padded")
        return LayerVerdict(name, type(layer).__name__, reasons, notes)
    cell = getattr(layer, "cell", None)
    if isinstance(layer, keras.layers.SimpleRNN):
        why = "SimpleRNN has no cuDNN kernel in Keras"
    elif "ConvLSTM" in type(layer).__name__:
        why = f"{type(layer).__name__} has no cuDNN kernel in Keras"
    else:
        why = (f"generic keras.layers.RNN loop over the custom cell "
               f"{type(cell).__name__ if cell is not None else '?'}")
    return LayerVerdict(name, type(layer).__name__, {b: [why] for b in BACKENDS})


def _is_recurrent(layer):
    return isinstance(layer, keras.layers.RNN) or "ConvLSTM" in type(layer).__name__


def _mask_sources(model):
    """Names of layers whose input carries a mask, found by walking a functional graph."""
    masked = set()
    producers = (keras.layers.Masking,)

    def produces_mask(layer):
        return isinstance(layer, producers) or (
            isinstance(layer, keras.layers.Embedding) and layer.mask_zero
        )

    memo = {}

    def carries_mask(layer, depth=0):
        """Whether `layer`'s *output* carries a mask."""
        key = id(layer)
        if key in memo or depth > 500:
            return memo.get(key, False)
        memo[key] = False
        if produces_mask(layer):
            memo[key] = True
            return True
        if isinstance(layer, keras.layers.RNN) and not layer.return_sequences:
            return False
        if isinstance(layer, keras.layers.Bidirectional) and not layer.return_sequences:
            return False
        if not getattr(layer, "supports_masking", False) and not isinstance(
            layer, (keras.layers.RNN, keras.layers.Bidirectional)
        ):
            return False
        result = any(carries_mask(p, depth + 1) for p in _parents(layer))
        memo[key] = result
        return result

    def _parents(layer):
        parents = []
        for node in getattr(layer, "_inbound_nodes", []):
            for tensor in getattr(node, "input_tensors", []):
                history = getattr(tensor, "_keras_history", None)
                if history is not None:
                    parents.append(history[0])
        return parents

    for layer in getattr(model, "layers", []):
        if _is_recurrent(layer) or isinstance(layer, keras.layers.Bidirectional):
            if any(carries_mask(p) for p in _parents(layer)):
                masked.add(id(layer))
    return masked


def _walk(layer, path, masked_ids, inherited_mask, out):
    if isinstance(layer, keras.layers.Bidirectional):
        mask = inherited_mask or id(layer) in masked_ids
        for sub, tag in ((layer.forward_layer, "forward"), (layer.backward_layer, "backward")):
            _walk(sub, f"{path}/{tag}", masked_ids, mask, out)
        return
    if _is_recurrent(layer):
        out.append(_verdict(layer, inherited_mask or id(layer) in masked_ids, path))
        return
    if isinstance(layer, keras.layers.TimeDistributed):
        _walk(layer.layer, f"{path}/{layer.layer.name}", masked_ids, inherited_mask, out)
        return
    children = getattr(layer, "layers", None)
    if children is None:
        flatten = getattr(layer, "_flatten_layers", None)
        children = list(flatten(include_self=False, recursive=False)) if flatten else []
    inner_masked = _mask_sources(layer) if isinstance(layer, keras.Model) else set()
    for child in children:
        _walk(child, f"{path}/{child.name}" if path else child.name, masked_ids | inner_masked,
              inherited_mask, out)


def cudnn_report(model, masked=None):
    """Reports, for each recurrent layer of `model`, whether cuDNN can run it on each backend.

    Args:
        model: any Keras model or layer.
        masked: force the answer to "does this layer get a mask?" (`True`/`False`); by default
            it is read from the graph (an `Embedding(mask_zero=True)` or `Masking` upstream).

    Returns:
        A `CudnnReport`: a list of `LayerVerdict`, with `.all_eligible` and a readable `str()`.

    Example:
    >>> model = keras.Sequential([keras.Input((10, 3)), keras.layers.LSTM(8)])
    >>> cudnn_report(model).all_eligible
    True
    >>> report = cudnn_report(keras.Sequential([keras.Input((10, 3)),
    ...                                         keras.layers.LSTM(8, recurrent_dropout=0.1)]))
    >>> report[0].reasons["jax"]
    ['recurrent_dropout=0.1 (cuDNN needs 0)']
    """
    out = CudnnReport()
    if masked is None:
        _walk(model, "" if isinstance(model, keras.Model) else model.name, set(), False, out)
    else:
        _walk(model, "", set(), bool(masked), out)
        if not masked:
            for v in out:
                for b in ("jax", "torch"):
                    v.reasons[b] = [r for r in v.reasons[b] if not r.startswith("receives a mask")]
                v.notes = []
    for v in out:
        v.name = v.name.lstrip("/")
    return out
