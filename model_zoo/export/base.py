"""Exporting a task: its network and preprocessing as one TensorFlow graph (SavedModel, TFLite).

A task's exporter (registered per task with `@exporter("forecasting")`, in this package) turns
a loaded task into a `ServingGraph`: a function of raw-input tensors (values in the series'
units, strings, waveforms) written in TensorFlow ops around the Keras model, returning what
the task's verb returns. `export_task` traces it into a SavedModel with Keras's
`ExportArchive` (the model's variables are tracked, not copied), converts that to TFLite on
request, runs the written graph once on the exporter's example batch against the Python verb,
and writes the lot atomically with a card (`export.json`, `README.md`) naming the inputs, the
outputs, the parent checkpoint and its sha256.
"""

import json
import os
import shutil
import time

import numpy as np

from model_zoo.errors import InputError
from model_zoo.fsutil import atomic_folder, require_writable
from model_zoo.tasks.cli_arguments import EXPORT_FORMATS as FORMATS
from model_zoo.tasks.cli_arguments import EXPORT_QUANTIZATIONS as QUANTIZATIONS

SIGNATURE = "serving_default"
CARD_FILE = "export.json"
TFLITE_FILE = "model.tflite"
#: The batch size of TFLite exports (one series, text or clip per call, as on a device).
TFLITE_BATCH = 1

_EXPORTERS = {}


def exporter(task_name):
    """Decorator: registers `build(task, **options) -> ServingGraph` for tasks `task_name`."""

    def decorator(build):
        _EXPORTERS[task_name] = build
        return build

    return decorator


def exportable_tasks():
    """The task names that have an exporter."""
    _import_exporters()
    return sorted(_EXPORTERS)


def _import_exporters():
    import importlib
    import pkgutil

    import model_zoo.export as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base":
            importlib.import_module(f"model_zoo.export.{info.name}")


class ServingGraph:
    """What an export runs: raw inputs to the task verb's outputs, in TensorFlow ops.

    Args:
        function: a Python callable of the input tensors (keyword arguments named as
            `inputs`) returning `{output name: tensor}`; it may call the task's Keras model.
        inputs: `{name: (tf.TensorSpec, description)}`, the signature's inputs in order.
        outputs: `{name: description}`.
        example: `{input name: NumPy array}`, a batch of raw inputs that `expected` answers.
        expected: `{output name: NumPy array}`, what the task's Python verb returns for
            `example`: the export is checked against it when written.
        tolerance: the largest absolute difference from `expected` accepted per output
            (numbers), e.g. float32 graph against the float64 Python path.
        options: the export options that shaped the graph (recorded in the card).
        notes: sentences for the card: what the graph does not do that the verb does.
        requires: Python modules to import before loading the SavedModel, for the ops they
            register (e.g. `"tensorflow_text"`), recorded in the card.
        tflite_unsupported: why this graph, with these options, cannot be written as
            TFLite (e.g. "pass length=..."), or None.
        resources: TensorFlow objects besides the model's variables that `function` uses
            (lookup tables, tf-text tokenizers), created eagerly: tracked into the SavedModel.
        tflite: the `ServingGraph` the TFLite model is made of instead of this one, where
            this one's preprocessing has no TFLite kernels (tf-text string ops): e.g. token
            ids in, the same outputs out, with its own example, expected outputs, notes (what
            a caller does first) and `assets`. The card and README describe both.
        assets: `{file name: text}` written into the export folder with this graph's model,
            e.g. the vocabulary that a `tflite` graph's caller tokenizes with (bytes are
            written as they are: e.g. a SentencePiece model).

    Example:
    >>> graph = ServingGraph(lambda history: {"forecast": model(history[..., None])},
    ...                      inputs={"history": (tf.TensorSpec([None, 24]), "last 24 values")},
    ...                      outputs={"forecast": "the next 12 values"},
    ...                      example={"history": x}, expected={"forecast": y})
    """

    def __init__(self, function, inputs, outputs, example, expected, tolerance=None,
                 options=None, notes=(), requires=(), tflite_unsupported=None,
                 resources=(), tflite=None, assets=None):
        self.function = function
        self.inputs = inputs
        self.outputs = outputs
        self.example = example
        self.expected = expected
        self.tolerance = tolerance or {}
        self.options = options or {}
        self.notes = list(notes)
        self.requires = list(requires)
        self.tflite_unsupported = tflite_unsupported
        self.resources = list(resources)
        self.tflite = tflite
        self.assets = dict(assets or {})

    def signature(self):
        return [spec for spec, _ in self.inputs.values()]

    def describe(self):
        import tensorflow as tf

        def spec(s):
            return {"dtype": tf.as_dtype(s.dtype).name,
                    "shape": [None if d is None else int(d) for d in s.shape]}

        return {"inputs": {name: {**spec(s), "description": text}
                           for name, (s, text) in self.inputs.items()},
                "outputs": {name: {"description": text} for name, text in self.outputs.items()}}


def _check_options(format, quantize):
    if format not in FORMATS:
        raise InputError(f"`format` must be one of {list(FORMATS)}. Received: format={format!r}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise InputError(f"`quantize` must be one of {list(QUANTIZATIONS)} or None. "
                         f"Received: quantize={quantize!r}")
    if quantize is not None and format != "tflite":
        raise InputError("Quantisation applies to TFLite exports only: pass "
                         f"format='tflite'. Received: format={format!r}, quantize={quantize!r}")


def serving_graph(task, **options):
    """The `ServingGraph` of `task` (its task's registered exporter with `options`)."""
    return _exporter(task, options)(task, **options)


def _exporter(task, options):
    """The exporter registered for `task`'s kind, once `options` are known to be its own."""
    _import_exporters()
    build = _EXPORTERS.get(task.task_name)
    if build is None:
        raise InputError(
            f"Exporting a `{task.task_name}` model is not supported yet; tasks that export: "
            f"{sorted(_EXPORTERS)}. Received: {task.name}")
    import inspect

    known = list(inspect.signature(build).parameters)[1:]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InputError(f"Unknown export option(s) {unknown} for a `{task.task_name}` model; "
                         f"its options: {known}. Received: {options}")
    return build


def export_task(task, directory, format="saved_model", quantize=None, overwrite=False,
                **options):
    """Writes `task` as a SavedModel (always) and a TFLite model (with `format="tflite"`).

    The folder holds the SavedModel (signature `serving_default`: raw inputs in, the task
    verb's outputs out), `model.tflite` for TFLite (where the preprocessing has no TFLite
    kernels, it takes e.g. token ids, and the files its caller needs, e.g. the vocabulary, lie
    beside it: `ServingGraph.tflite`), and the card `export.json` + `README.md`: the inputs
    and outputs, the parent checkpoint and its sha256, and the largest difference between
    the written graph and the Python verb on the exporter's example batch. It is
    written to a staging folder first, so a failed export leaves nothing behind.

    Args:
        task: a loaded task (`model_zoo.load(...)`).
        directory: the export folder to create.
        format: `"saved_model"` or `"tflite"`.
        quantize: TFLite only: `"float16"` (weights stored in float16) or `"dynamic_range"`
            (weights in int8, activations quantised on the fly); default none.
        overwrite: replace an existing folder (only once the new one is complete).
        **options: the task's export options (e.g. `horizon=` for forecasting).

    Returns:
        The card (a dict, also in `export.json`).
    """
    _check_options(format, quantize)
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory) and not overwrite:
        raise InputError(f"Refusing to overwrite the existing {directory}; choose another "
                         f"folder or pass overwrite=True. Received: {directory}")
    require_writable(directory, "export", folder=True)
    build = _exporter(task, options)  # Bad options are refused before any writing.
    # The zoo's fused LSTM/GRU layers become Keras's (same weights), whose loop the TFLite
    # converter turns into builtin ops.
    from model_zoo.layers.fast_rnn import with_keras_layers

    task = task.with_model(with_keras_layers(task.model))
    graph = build(task, **options)
    if format == "tflite" and graph.tflite_unsupported:
        raise InputError(f"This export cannot be written as TFLite: {graph.tflite_unsupported}"
                         f". Received: format='tflite', options={options}")

    started = time.time()
    with atomic_folder(directory, if_exists="replace" if overwrite else "error") as staging:
        _write_saved_model(staging, graph, task.model)
        _write_assets(staging, graph)
        card = {"format": format, "task": task.task_name, "parent": _parent(task),
                "signature": SIGNATURE, **graph.describe(), "options": graph.options,
                "notes": graph.notes, "requires": graph.requires}
        card["check"] = {"saved_model": _check(graph, saved_model_runner(staging))}
        if format == "tflite":
            lite = graph.tflite or graph
            card["tflite"] = _write_tflite(staging, lite, task.model, quantize)
            if graph.tflite is not None:  # Other inputs than the SavedModel's: described.
                _write_assets(staging, lite)
                card["tflite"].update(**lite.describe(), notes=lite.notes,
                                      assets=sorted(lite.assets))
            card["check"]["tflite"] = _check(
                lite, tflite_runner(os.path.join(staging, TFLITE_FILE)), rows=TFLITE_BATCH,
                bounded=quantize is None)
        card["seconds"] = round(time.time() - started, 1)
        with open(os.path.join(staging, CARD_FILE), "w", encoding="utf-8") as f:
            json.dump(card, f, indent=2)
            f.write("\n")
        with open(os.path.join(staging, "README.md"), "w", encoding="utf-8") as f:
            f.write(export_readme(card))
    return card


def _parent(task):
    metadata = task.metadata
    if metadata is None:
        return {"name": None, "note": "an unsaved task"}
    files = metadata.files or {}
    return {"name": metadata.full_name, "model_sha256": files.get("model.keras", {}).get("sha256"),
            "directory": task.directory}


def saved_model_runner(directory):
    """`run(inputs) -> outputs` (NumPy arrays) of the SavedModel in `directory`'s serving
    signature."""
    import tensorflow as tf

    function = tf.saved_model.load(directory).signatures[SIGNATURE]
    return lambda inputs: {k: v.numpy() for k, v in function(
        **{name: tf.constant(value) for name, value in inputs.items()}).items()}


def tflite_interpreter(path):
    """LiteRT's interpreter (`ai_edge_litert`, the `export` extra) of the TFLite model at
    `path`; TensorFlow's `tf.lite.Interpreter`, deprecated in its favour, where it is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=path)


def tflite_runner(path):
    """`run(inputs) -> outputs` of the TFLite model at `path` through its signature runner
    (inputs of `TFLITE_BATCH` rows; other dimensions are resized to each call's shapes)."""
    interpreter = tflite_interpreter(path)
    runner = interpreter.get_signature_runner(SIGNATURE)
    return lambda inputs: runner(**inputs)


def _write_saved_model(directory, graph, model, batch=None):
    """Traces `graph` (its batch dimension fixed to `batch`, if given) around `model` into a
    SavedModel in `directory`, with Keras's `ExportArchive` (the model's variables are
    tracked, not copied)."""
    import keras
    import tensorflow as tf

    signature = graph.signature()
    if batch is not None:
        signature = [tf.TensorSpec([batch, *s.shape[1:]], s.dtype, name=s.name)
                     for s in signature]
    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in graph.resources:
        archive.track(resource)
    archive.add_endpoint(SIGNATURE, tf.function(
        lambda *args: graph.function(**dict(zip(graph.inputs, args))),
        input_signature=signature, autograph=False))
    archive.write_out(directory, verbose=False)


def _write_assets(directory, graph):
    """Writes `graph.assets` into the export folder `directory`."""
    for name, text in graph.assets.items():
        path = os.path.join(directory, name)
        if os.path.basename(name) != name or os.path.exists(path):
            raise ValueError(f"An export asset must be a new file name in the export folder. "
                             f"Received: {name!r}")
        if isinstance(text, bytes):  # A binary file, e.g. a SentencePiece model.
            with open(path, "wb") as f:
                f.write(text)
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _check(graph, run, rows=None, bounded=True):
    """The largest difference between the written graph's outputs and the verb's on the
    exporter's example (run `rows` rows at a time, if given); with `bounded`, an export
    beyond `graph.tolerance` is an error (nothing is written). A quantised model's
    differences are reported, not bounded."""
    size = len(next(iter(graph.example.values())))
    parts = [run({k: v[i:i + (rows or size)] for k, v in graph.example.items()})
             for i in range(0, size, rows or size)]
    got = {name: np.concatenate([np.asarray(p[name]) for p in parts]) for name in parts[0]}
    report = {}
    for name, want in graph.expected.items():
        value, want = np.asarray(got[name]), np.asarray(want)
        if want.dtype.kind in "USO":
            value = value.astype(str) if value.dtype.kind != "O" else np.char.decode(
                value.astype(bytes), "utf-8")
            report[name] = {"equal": bool(np.array_equal(value, want.astype(str)))}
            ok = report[name]["equal"]
        else:
            diff = float(np.max(np.abs(value.astype("float64") - want))) if want.size else 0.0
            report[name] = {"max_abs_difference": diff,
                            "tolerance": graph.tolerance.get(name, 1e-4)}
            ok = value.shape == want.shape and diff <= report[name]["tolerance"]
        if not bounded:
            report[name].pop("tolerance", None)
        elif not ok:
            raise RuntimeError(
                f"The exported graph's `{name}` differs from the Python verb's on the "
                f"example batch: {report[name]}. Received: {value!r}, expected {want!r}")
    return report


def _write_tflite(directory, graph, model, quantize):
    """Writes `model.tflite` into `directory`: `graph` with a batch of `TFLITE_BATCH` rows
    (TFLite lowers Keras's recurrent loops to its builtin ops only when the batch size is
    fixed), converted from a SavedModel of its own; TFLite's builtin ops when they suffice,
    else with TensorFlow ops (`SELECT_TF_OPS`), as the card records."""
    source = os.path.join(directory, ".tflite-source")
    _write_saved_model(source, graph, model, batch=TFLITE_BATCH)
    try:
        return _convert(source, directory, quantize)
    finally:
        shutil.rmtree(source, ignore_errors=True)


def _convert(source, directory, quantize):
    import tensorflow as tf

    attempts = (("tflite_builtins", [tf.lite.OpsSet.TFLITE_BUILTINS]),
                ("tflite_builtins+select_tf_ops", [tf.lite.OpsSet.TFLITE_BUILTINS,
                                                   tf.lite.OpsSet.SELECT_TF_OPS]))
    errors = []
    for ops, op_sets in attempts:
        converter = tf.lite.TFLiteConverter.from_saved_model(source, [SIGNATURE])
        converter.target_spec.supported_ops = op_sets
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        try:
            content = converter.convert()
        except Exception as e:  # The converter raises its own ConverterError and others.
            errors.append(f"{ops}: {str(e).splitlines()[0][:300]}")
            continue
        with open(os.path.join(directory, TFLITE_FILE), "wb") as f:
            f.write(content)
        return {"file": TFLITE_FILE, "ops": ops, "quantize": quantize, "bytes": len(content)}
    raise InputError("This model does not convert to TFLite: " + "; ".join(errors)
                     + f". Received: quantize={quantize!r}")


def export_readme(card):
    """The export folder's README.md, from its card."""
    parent = card["parent"]
    lite = card.get("tflite")
    lines = [f"# Export of {parent.get('name') or 'an unsaved model'} ({card['task']})", "",
             f"Format: {card['format']}; signature `{card['signature']}`"
             + (f" and `{lite['file']}` ({lite['ops']})." if lite else "."),
             f"Parent checkpoint: `{parent.get('name')}`, model.keras sha256 "
             f"`{parent.get('model_sha256')}`.", "", "## Inputs", ""]
    lines += [f"- `{name}`: {s['dtype']} {s['shape']}: {s['description']}"
              for name, s in card["inputs"].items()]
    lines += ["", "## Outputs", ""]
    lines += [f"- `{name}`: {s['description']}" for name, s in card["outputs"].items()]
    if card["notes"]:
        lines += ["", "## Notes", "", *[f"- {note}" for note in card["notes"]]]
    lite = card.get("tflite", {})
    if "inputs" in lite:  # The TFLite model has its own inputs (`ServingGraph.tflite`).
        lines += ["", f"## `{lite['file']}`: other inputs", "",
                  "The TFLite model has inputs and outputs of its own (see the notes below); it "
                  "takes:", ""]
        lines += [f"- `{name}`: {s['dtype']} {s['shape']}: {s['description']}"
                  for name, s in lite["inputs"].items()]
        lines += ["", "and returns:", ""]
        lines += [f"- `{name}`: {s['description']}" for name, s in lite["outputs"].items()]
        lines += ["", *[f"- {note}" for note in lite["notes"]]]
        if lite["assets"]:
            lines += ["", "Files beside it: " + ", ".join(f"`{a}`" for a in lite["assets"])
                      + "."]
    lines += ["", "## Checked against the Python verb", "",
              "```json", json.dumps(card["check"], indent=2), "```", "",
              "Load it with TensorFlow alone:", "", "```python",
              "import tensorflow as tf",
              *[f"import {module}  # registers the ops the graph uses"
                for module in card["requires"]], "",
              "serve = tf.saved_model.load(\"<this folder>\").signatures[\"serving_default\"]",
              "```", ""]
    return "\n".join(lines)
