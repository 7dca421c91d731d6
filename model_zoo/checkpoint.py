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
    import keras

    versions = {"keras": keras.__version__, "python": platform.python_version(),
                "model_zoo": __version__, "backend": keras.backend.backend()}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - TF is a dependency, but a JAX-only user may lack it.
        pass
    return versions


def count_params(model):
    """All weights, trainable or not: what `model.count_params()` reports."""
    return int(model.count_params())


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def model_card(metadata):
    """A README.md for the checkpoint, generated from its metadata."""
    m = metadata
    lines = [f"# {m.name} (version {m.version})", "", m.description or "", ""]
    lines += [
        "| | |", "|---|---|",
        f"| task | `{m.task}` |",
        f"| architecture | `{m.architecture}` |",
        f"| parameters | {m.params:,} |",
        f"| dataset | {m.dataset.get('name', '')} ({m.dataset.get('source', '')}) |",
        f"| data license | {m.dataset.get('license', '')} |",
        f"| checkpoint license | {m.license} |",
        f"| recipe | `{m.recipe}` |",
        f"| created | {m.created} |",
        "",
    ]
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
    finetune = m.metrics.get("finetune")
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
    metadata.files = describe_files(directory)
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
