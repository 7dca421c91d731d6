"""The checkpoint format: one folder per checkpoint.

    <name>/
      model.keras          the Keras model (Keras v3 format; loads with safe_mode=True)
      preprocessing.json   the task's preprocessing state (scalers, vocabularies, settings)
      assets/...           larger preprocessing files, if any (vocabularies, ...)
      README.md            the model card, generated from the metadata
      metadata.json        name, version, task, dataset and split, metrics, parameter count,
                           sha256 and size of every other file, license, command, versions

Writing is atomic: everything goes into a temporary sibling folder that is renamed into place
only when complete, so an error never leaves a half-written checkpoint.
"""

import datetime
import json
import math
import os
import platform
import reprlib

from model_zoo.comparison import table_lines
from model_zoo.errors import InputError, IntegrityError
from model_zoo.fsutil import atomic_folder
from model_zoo.registry import CheckpointMetadata, describe_files
from model_zoo.registry.integrity import is_inner_path
from model_zoo.registry.metadata import ASSETS_DIR, CARD_FILE, MODEL_FILE, PREPROCESSING_FILE
from model_zoo.version import __version__


def framework_versions():
    """Versions of what trained a checkpoint, its Keras backend and the machine (`hardware`)."""
    import keras

    versions = {"keras": keras.__version__, "python": platform.python_version(),
                "model_zoo": __version__, "backend": keras.backend.backend(),
                "hardware": hardware()}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - TF is a dependency, but a JAX-only user may lack it.
        pass
    return versions


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # Not Linux.
        pass
    return platform.processor() or platform.machine()


def hardware():
    """The machine as the training saw it: `{"cpu": model, "cpus": logical CPUs this process
    may use, "accelerators": [the GPUs the Keras backend sees]}` (a published checkpoint
    records where its numbers and timings come from)."""
    import keras

    backend, accelerators = keras.backend.backend(), []
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            details = tf.config.experimental.get_device_details
            accelerators = [details(d).get("device_name", d.name)
                            for d in tf.config.list_physical_devices("GPU")]
        elif backend == "jax":
            import jax

            accelerators = [d.device_kind for d in jax.devices() if d.platform != "cpu"]
        elif backend == "torch":
            import torch

            accelerators = [torch.cuda.get_device_name(i)
                            for i in range(torch.cuda.device_count())]
    except Exception:  # A broken driver must not stop a checkpoint from being saved.
        accelerators = ["unknown (the backend could not list its devices)"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": _cpu_model(), "cpus": cpus, "accelerators": accelerators}


def count_params(model):
    """All weights, trainable or not: what `model.count_params()` reports."""
    return int(model.count_params())


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# -- the model card -------------------------------------------------------------------------------
#
# Generated from the metadata alone (the checkpoint describes itself): YAML front matter in the
# model-hub (Hugging Face) form, then the card. The honest notes are data: a recipe's
# `card_notes` (see `fill_card_notes`), rendered into `metadata.intended_use` and
# `metadata.limitations` when the run is published.

# Numbers a recipe records beside its test scores that are settings, not scores.
_SETTINGS = ("alpha", "beam_size", "limit", "threshold")


def fill_card_notes(notes, config, metrics):
    """`{"intended_use": str, "limitations": [str]}` for a checkpoint's metadata.

    Args:
        notes: a recipe's `card_notes` (or None): `{"intended_use": str, "limitations": [str],
            "datasets": {config["dataset"]: {"intended_use": str, "limitations": [str]}}}`.
            The texts are `str.format` templates over `test`, `baselines` (the run's metrics)
            and `config` (e.g. `"{test[cer]:.1%} CER"`); one whose numbers the run did not
            measure is left out.
        config: the run's resolved config (its `dataset` picks the per-dataset notes).
        metrics: the run's metrics (`test`, `baselines`, ...).
    """
    notes = notes or {}
    extra = (notes.get("datasets") or {}).get((config or {}).get("dataset"), {})
    values = {"test": (metrics or {}).get("test") or {},
              "baselines": (metrics or {}).get("baselines") or {}, "config": config or {}}

    def fill(template):
        try:
            return template.format(**values)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return None

    intended = fill(extra.get("intended_use") or notes.get("intended_use") or "") or ""
    limitations = [fill(t) for t in list(notes.get("limitations") or [])
                   + list(extra.get("limitations") or [])]
    return {"intended_use": intended, "limitations": [t for t in limitations if t]}


def _is_score(name, value):
    return (isinstance(value, float) and math.isfinite(value) and name not in _SETTINGS)


def headline(metadata):
    """`(metric, higher_is_better)`: the metric that decides a comparison for the checkpoint's
    task and its direction, as the task class declares them (`Task.comparison_metric`,
    `comparison_higher_is_better`); None where the task declares none. A task whose metric
    depends on the model (a language model's nats per char or per token) gives `(None, ...)`:
    the metric is then the first test score every baseline of the run also reports."""
    from model_zoo.tasks.base import task_class

    try:
        cls = task_class(metadata.task)
    except InputError:
        return None
    # The attribute as declared (a property for a metric that depends on the model).
    metric = next(base.__dict__["comparison_metric"] for base in cls.__mro__
                  if "comparison_metric" in base.__dict__)
    if metric is None:
        return None
    return (metric if isinstance(metric, str) else None), bool(cls.comparison_higher_is_better)


def baseline_beats_model(metadata):
    """The strongest classical baseline of the run that published the checkpoint when it beats
    the model on its headline metric (see `headline`), as `{"baseline", "metric",
    "higher_is_better", "model_value", "baseline_value", "description"}`; else None."""
    from model_zoo import comparison

    test = metadata.metrics.get("test") or {}
    rows = {k: v for k, v in (metadata.metrics.get("baselines") or {}).items()
            if isinstance(v, dict)}
    decided = headline(metadata) if test and rows else None
    if not decided:
        return None
    metric, higher = decided
    if metric is None:
        metric = next((k for k, v in test.items() if _is_score(k, v)
                       and all(_is_score(k, row.get(k)) for row in rows.values())), None)
    if metric is None or not _is_score(metric, test.get(metric)):
        return None
    measured = [name for name, row in rows.items() if _is_score(metric, row.get(metric))]
    if not measured:
        return None
    best = comparison.strongest_baseline({"metric": metric, "higher_is_better": higher,
                                          "rows": rows, "baselines": measured})
    model_value, value = test[metric], rows[best][metric]
    if not (value > model_value if higher else value < model_value):
        return None
    return {"baseline": best, "metric": metric, "higher_is_better": higher,
            "model_value": model_value, "baseline_value": value,
            "description": rows[best].get("model", "")}


def baseline_sentence(metadata):
    """One plain sentence when a classical baseline of the run beats the model (else None)."""
    won = baseline_beats_model(metadata)
    if won is None:
        return None
    what = f" ({won['description']})" if won["description"] else ""
    lower = "" if won["higher_is_better"] else ", lower is better"
    return (f"The classical baseline {won['baseline']}{what} beats this model on "
            f"{won['metric']} ({_fmt(won['baseline_value'])} vs {_fmt(won['model_value'])}"
            f"{lower}): for this data it is the better choice today.")


def _parent(metadata):
    return next((t.split(":", 1)[1] for t in metadata.tags if t.startswith("parent:")), None)


def _cell(metadata):
    """The recurrent cell: the `cell` hyperparameter, else the one the architecture names."""
    cell = (metadata.config.get("hp") or {}).get("cell")
    if cell:
        return str(cell)
    words = metadata.architecture.replace("_", " ").split()
    return next((c for c in ("lstm", "gru", "rnn") for w in words if w.endswith(c)), None)


def front_matter(metadata):
    """The card's YAML front matter, as a dict (the model-hub keys: license, library_name,
    tags, datasets, metrics, model-index; base_model for a fine-tuned checkpoint)."""
    m = metadata
    test = {k: v for k, v in (m.metrics.get("test") or {}).items() if _is_score(k, v)}
    dataset = {"name": m.dataset.get("name", ""),
               "type": str((m.config.get("config") or {}).get("dataset")
                           or m.dataset.get("name", "")), "split": "test"}
    finetune = m.metrics.get("finetune")
    comparison = finetune.get("comparison") if isinstance(finetune, dict) else None
    if not test and comparison:  # A fine-tune: its scores on the held-out part of the data.
        test = {k: v for k, v in comparison["rows"].get("fine-tuned", {}).items()
                if _is_score(k, v)}
        dataset = {"name": "user data (held-out part)", "type": "user_data", "split": "test"}
    tags = list(dict.fromkeys(t for t in [m.task, m.architecture, _cell(m), "model_zoo",
                                          *m.tags] if t))
    out = {"license": (m.license or "other").lower(), "library_name": "keras", "tags": tags}
    parent = _parent(m)
    if parent:
        out["base_model"] = parent
    out["datasets"] = [m.dataset.get("name", "")]
    out["metrics"] = list(test)
    if test:
        out["model-index"] = [{"name": m.name, "results": [{
            "task": {"type": m.task}, "dataset": dataset,
            "metrics": [{"type": k, "value": v} for k, v in test.items()]}]}]
    return out


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) or value is None:
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)  # a double-quoted YAML string


def yaml_lines(value, indent=0):
    """Block-style YAML of plain data (dicts, lists, strings, numbers); strings are always
    double-quoted (JSON's escapes are YAML's), so any text is safe."""
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{key}:"
                yield from yaml_lines(item, indent + 2)
            elif isinstance(item, (dict, list)):
                yield f"{pad}{key}: {'{}' if isinstance(item, dict) else '[]'}"
            else:
                yield f"{pad}{key}: {_yaml_scalar(item)}"
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = yaml_lines(item, indent + 2)
                yield f"{pad}- {first.lstrip()}"
                yield from rest
            else:
                yield f"{pad}- {_yaml_scalar(item)}"


def model_card(metadata):
    """A README.md for the checkpoint, generated from its metadata."""
    m = metadata
    lines = ["---", *yaml_lines(front_matter(m)), "---", ""]
    lines += [f"# {m.name} (version {m.version})", "", m.description or "", ""]
    parent = _parent(m)
    lines += [
        "| | |", "|---|---|",
        f"| task | `{m.task}` |",
        f"| architecture | `{m.architecture}` |",
        f"| parameters | {m.params:,} |",
    ]
    if parent:
        lines.append(f"| fine-tuned from | `{parent}` (trained on "
                     f"{m.dataset.get('parent_dataset', '')}) |")
    lines += [
        f"| dataset | {m.dataset.get('name', '')} ({m.dataset.get('source', '')}) |",
        f"| data license | {m.dataset.get('license', '')} |",
        f"| checkpoint license | {m.license} |",
        f"| recipe | `{m.recipe}` |",
        f"| created | {m.created} |",
    ]
    machine = (m.framework or {}).get("hardware")
    if machine:  # Recorded since 2026-12-04.
        devices = ", ".join(machine["accelerators"]) or "no accelerator"
        lines.append(f"| trained on | {machine['cpu']}, {machine['cpus']} CPUs, {devices}; "
                     f"Keras {m.framework.get('keras')} on {m.framework.get('backend')} |")
    lines.append("")
    lines += ["## Intended use and limitations", ""]
    if parent:
        lines += [f"This checkpoint is `{parent}` fine-tuned on user data. The notes below were "
                  "written for that parent and describe what it was trained on; how this model "
                  "does on the data it was fine-tuned on is under \"On the fine-tuning data\".",
                  ""]
    if m.intended_use:
        lines += [m.intended_use, ""]
    if m.limitations:
        lines += [f"- {note}" for note in m.limitations] + [""]
    if not (m.intended_use or m.limitations):
        lines += ["No notes were recorded with this checkpoint; its recipe's README has the "
                  "details.", ""]
    split = m.dataset.get("split")
    if split:
        lines += ["## Split", "", "```json", json.dumps(split, indent=2), "```", ""]
    test = m.metrics.get("test", {})
    if test:
        lines += ["## Test metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in test.items() if not isinstance(v, dict)]
        lines.append("")
    baselines = m.metrics.get("baselines", {})
    if baselines:
        keys = sorted({k for b in baselines.values() for k, v in b.items()
                       if isinstance(v, (int, float, str))})
        lines += ["## Baselines (same split, same run)", "",
                  "| baseline | " + " | ".join(keys) + " |",
                  "|---" * (len(keys) + 1) + "|"]
        for name, values in baselines.items():
            lines.append(f"| {name} | " + " | ".join(_fmt(values.get(k, "")) for k in keys) + " |")
        lines.append("")
        sentence = baseline_sentence(m)
        if sentence:
            lines += [sentence, ""]
    finetune = m.metrics.get("finetune")
    if isinstance(finetune, dict):
        scalars = {k: v for k, v in finetune.items()
                   if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        if scalars:
            lines += ["## Fine-tuning", "", "| | |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in scalars.items()] + [""]
    comparison = finetune.get("comparison") if isinstance(finetune, dict) else None
    if comparison:
        lines += ["## On the fine-tuning data: fine-tuned, zero-shot and classical baseline", ""]
        lines += table_lines(comparison, markdown=True) + [""]
    if "finetuned" in m.tags:  # Not in the registry (unless published): load the folder.
        load = (f'model = model_zoo.load("path/to/this/folder")  # or "{m.name}@{m.version}" '
                f'once published')
    else:
        load = f'model = model_zoo.load("{m.name}@{m.version}")'
    lines += ["## Use", "", "```python", "import model_zoo", "", load, "```", ""]
    if m.command:
        lines += ["## Reproduce", "", "```", m.command, "```", ""]
    return "\n".join(lines)


def refresh_card(directory):
    """Re-renders a checkpoint's README.md from its metadata and re-records the card's hash
    (after an improvement to the card template; the model and its metrics are untouched)."""
    metadata = CheckpointMetadata.load(directory)
    with open(os.path.join(directory, CARD_FILE), "w", encoding="utf-8") as f:
        f.write(model_card(metadata))
    fresh = describe_files(directory)  # in the order the table had (a smaller diff)
    order = [k for k in metadata.files if k in fresh] + [k for k in fresh if k not in
                                                         metadata.files]
    metadata.files = {k: fresh[k] for k in order}
    metadata.save(directory)
    return directory


def write_checkpoint(directory, model, preprocessing, metadata, assets=None, overwrite=False):
    """Writes a complete checkpoint folder atomically and returns its path.

    Args:
        directory: the checkpoint folder to create.
        model: the Keras model.
        preprocessing: JSON-serialisable dict of preprocessing state.
        metadata: a `CheckpointMetadata`; `params`, `files`, `framework` and `created` are
            filled in here.
        assets: optional `{relative path: bytes or str}` written under `assets/`.
        overwrite: replace an existing folder (the old one is removed only after the new one
            is complete).
    """
    directory = os.path.abspath(os.fspath(directory))
    if os.path.exists(directory) and not overwrite:
        raise InputError(
            f"Refusing to overwrite the existing {directory}; choose another folder or pass "
            f"overwrite=True. Received: {directory}"
        )
    with atomic_folder(directory, if_exists="replace" if overwrite else "error") as staging:
        _save_without_optimizer(model, os.path.join(staging, MODEL_FILE))
        with open(os.path.join(staging, PREPROCESSING_FILE), "w", encoding="utf-8") as f:
            json.dump(preprocessing, f, indent=2, sort_keys=True)
            f.write("\n")
        for rel, content in (assets or {}).items():
            path = os.path.join(staging, ASSETS_DIR, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
                f.write(content)
        metadata.params = count_params(model)
        metadata.framework = framework_versions()
        metadata.created = metadata.created or datetime.date.today().isoformat()
        with open(os.path.join(staging, CARD_FILE), "w", encoding="utf-8") as f:
            f.write(model_card(metadata))
        metadata.files = describe_files(staging)
        metadata.save(staging)
    return directory


def _save_without_optimizer(model, path):
    """`model.save(path)` without the optimizer's state a `compile`/`fit` attached.

    A `.keras` file holds the optimizer's variables whenever the model has one (Adam: twice the
    weights again); a checkpoint is for inference and fine-tuning, which starts a new optimizer.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        model.save(path)
        return
    model.optimizer = None
    try:
        model.save(path)
    finally:
        model.optimizer = optimizer


def read_checkpoint(directory):
    """Loads `(keras_model, preprocessing_dict, metadata)` from a checked checkpoint folder.

    The model loads with `safe_mode=True`; a model Keras cannot load that way (a `Lambda` layer,
    an unknown layer, a damaged file) or whose parameter count is not the one its metadata
    records is an `IntegrityError`.
    """
    import keras

    import model_zoo.layers  # noqa: F401  (registers FastLSTM/FastGRU, which any model may hold)

    metadata = CheckpointMetadata.load(directory)
    try:
        with open(os.path.join(directory, PREPROCESSING_FILE), encoding="utf-8") as f:
            preprocessing = json.load(f)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise IntegrityError(
            f"{PREPROCESSING_FILE} in {directory} is not valid UTF-8 JSON ({e}). "
            "Received: a corrupt preprocessing file."
        ) from None
    try:
        model = keras.saving.load_model(os.path.join(directory, MODEL_FILE), compile=False,
                                        safe_mode=True)
    except Exception as e:  # Keras raises ValueError, TypeError, OSError, zipfile errors, ...
        reason = " ".join(str(e).split()).split(". ")[0]  # Keras's first sentence says why
        raise IntegrityError(
            f"{MODEL_FILE} in {directory} cannot be loaded with Keras's safe_mode: a checkpoint "
            "holds only Keras's and model_zoo's own layers, and no Python code (no `Lambda` "
            f"layer). Received: {type(e).__name__}: {reason[:300]}"
        ) from None
    if metadata.params and count_params(model) != metadata.params:
        raise IntegrityError(
            f"The model in {directory} does not have the parameter count its metadata records "
            f"({metadata.params}). Received: {count_params(model)} parameters."
        )
    return model, preprocessing, metadata


def read_asset(directory, rel, binary=False):
    """The content of the checkpoint asset `assets/<rel>` (text, or bytes when `binary`).

    Raises:
        IntegrityError: `rel` leads out of the checkpoint's `assets/` folder (`..`, an absolute
            path, a link), or the asset is missing or not UTF-8 text.
        InputError: `directory` is None: the object was not loaded from a checkpoint.
    """
    if directory is None:
        raise InputError(
            f"Cannot read the asset `{rel}`: the asset is missing, as this object was not "
            "loaded from a checkpoint folder (which holds it under assets/). Received: "
            "directory=None"
        )
    base = os.path.join(os.path.realpath(directory), ASSETS_DIR)
    path = os.path.realpath(os.path.join(base, *rel.split("/"))) if is_inner_path(rel) else None
    if path is None or not path.startswith(base + os.sep):
        raise IntegrityError(
            f"The checkpoint in {directory} names an asset outside its {ASSETS_DIR}/ folder; an "
            f"asset is a relative path inside it. Received: {reprlib.repr(rel)}"
        )
    if not os.path.isfile(path):
        raise IntegrityError(
            f"Cannot read the asset `{rel}`: the asset is missing from {directory}/{ASSETS_DIR}. "
            "Received: no such file."
        )
    try:
        with open(path, "rb") if binary else open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise IntegrityError(
            f"The asset `{rel}` in {directory} is not UTF-8 text. Received: undecodable bytes."
        ) from None
