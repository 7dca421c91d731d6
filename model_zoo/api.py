"""The public entry points: `load`, `finetune`, `list_models`, `info`."""

import copy
import hashlib
import json
import os
import pickle
import shutil

from model_zoo.errors import InputError
from model_zoo.fsutil import require_writable
from model_zoo.limits import positive_int
from model_zoo.registry import CheckpointMetadata, check_name, default_registry, resolve


def list_models(pattern=None, task=None):
    """Names of the newest version of every registered checkpoint.

    Args:
        pattern: a glob (`"forecast_*"`) or a substring of the name.
        task: only checkpoints of this task (`"forecasting"`, ...).

    Example:
    >>> model_zoo.list_models("forecast_*")  # doctest: +SKIP
    ['forecast_lstm_airline', 'forecast_lstm_co2', 'forecast_lstm_sunspots', 'forecast_lstm_taylor']
    """
    return [e.name for e in default_registry().list(pattern=pattern, task=task)]


def info(name):
    """The metadata of a registered checkpoint (`name` or `name@N`), as a dict."""
    if os.path.isdir(os.fspath(name)):
        return CheckpointMetadata.load(name).to_dict()
    return default_registry().get(name).metadata.to_dict()


def load(spec, sha256=None):
    """Loads a checkpoint and returns its task object, ready for raw input.

    Args:
        spec: a registered name (`"forecast_lstm_taylor"`, `"forecast_lstm_taylor@1"`), a
            checkpoint folder, or a `file://`/`http(s)://` URL of a checkpoint archive.
        sha256: the archive's expected sha256 when `spec` is a URL (or `url#sha256=<hex>`).

    Before anything is read, the folder (a registry entry's, a local one, or the cached copy of
    a URL, on every load) is checked against its metadata: every file listed with its size and
    sha256, and nothing unlisted (see `model_zoo.registry.verify_files`).

    Raises:
        IntegrityError: a file is missing, unlisted, altered, or leads out of the folder; the
            model cannot be loaded with Keras's safe_mode or has another parameter count.

    Example:
    >>> forecaster = model_zoo.load("forecast_lstm_taylor")  # doctest: +SKIP
    >>> forecaster.forecast(series, horizon=48)  # doctest: +SKIP
    """
    from model_zoo.tasks.base import task_class

    resolved = resolve(spec, sha256=sha256)
    return task_class(resolved.metadata.task).from_checkpoint(resolved)


INITS = ("pretrained", "random")


def finetune(model, data, out=None, name=None, overwrite=False, command=None,
             init="pretrained", resume=False, backup_dir=None, **kwargs):
    """Fine-tunes a published model on the user's data and optionally saves the result.

    Args:
        model: a name, folder or URL accepted by `load`, or a task object.
        data: the task's data: a series or CSV for forecasting, texts and labels for
            classification, CoNLL files for tagging, ... (see the task's `finetune`).
        out: folder to write the fine-tuned checkpoint to (loadable with `load(out)`).
        name: registry name of the new checkpoint (default: `<parent>_finetuned`).
        overwrite: replace an existing `out` folder.
        command: how this fine-tuning was run, for the new checkpoint's metadata (the CLI
            passes its command line).
        init: `"pretrained"` (default) starts from the published weights; `"random"` trains
            the same architecture from freshly initialised weights, every layer trainable
            with the recipe's own schedule (`RecipeSchedule`: its learning rate, warm-up and
            cosine decay), so that the two can be compared (`--from-scratch`). The
            choice is recorded as `metrics["finetune"]["init"]` (and a tag `init:random`).
        resume: continue a fine-tune that was killed, from its backup (see `backup_dir`),
            with the same model, data and options; the epochs after the backup are the ones
            the uninterrupted fine-tune would have trained.
        backup_dir: where the training state is backed up after every epoch while it trains
            (default: `<out>.backup` when `out` is given, else no backup); removed once the
            checkpoint is written. A backup left there by a killed fine-tune is refused
            unless `resume=True` (`--resume`), and one of another fine-tune (another model,
            data or options) always is.
        **kwargs: the task's fine-tuning options (epochs, strategy, ...).

    Returns:
        The fine-tuned task object.
    """
    # Settings and the output are checked before anything is loaded, trained or written.
    if name is not None:
        check_name(name)
    if kwargs.get("epochs") is not None:
        positive_int(kwargs["epochs"], "epochs")
    if not isinstance(init, str) or init not in INITS:
        raise InputError(f"`init` must be one of {INITS}. Received: init={init!r}")
    if init == "random":
        if kwargs.get("strategy") not in (None, "full", "auto"):
            raise InputError(
                "Training from random weights trains every layer with the recipe's schedule; a "
                "freeze/unfreeze strategy needs pretrained weights. Received: "
                f"strategy={kwargs['strategy']!r} with init='random'")
        kwargs["strategy"] = "full"
    if out is not None:
        if os.path.exists(out) and not overwrite:
            raise InputError(
                f"The output folder {out} exists; choose another or pass overwrite=True. "
                f"Received: out={out!r}"
            )
        require_writable(out, "fine-tuned checkpoint", folder=True)
    if backup_dir is None and out is not None:
        backup_dir = os.path.abspath(os.fspath(out)) + ".backup"
    fingerprint = _finetune_fingerprint(model, data, init, kwargs)
    _check_backup(backup_dir, fingerprint, resume)
    task = load(model) if isinstance(model, (str, os.PathLike)) else model
    start = task.reinitialized(seed=kwargs.get("seed", 0)) if init == "random" else task
    if init == "random":  # The recipe's own schedule, not a fine-tune's small learning rate.
        from model_zoo.training.finetune import RecipeSchedule

        kwargs["strategy"] = RecipeSchedule.from_metadata(task.metadata)
    if backup_dir is None:
        tuned = start.finetune(data, **kwargs)
    else:
        from model_zoo.training.backup import RunBackup
        from model_zoo.training.fit import training_callbacks

        os.makedirs(backup_dir, exist_ok=True)
        with open(os.path.join(backup_dir, _BACKUP_FILE), "w", encoding="utf-8") as f:
            json.dump({"fingerprint": fingerprint}, f)
        try:
            with training_callbacks([RunBackup(backup_dir)]):
                tuned = start.finetune(data, **kwargs)
        except BaseException as error:
            # Bad input fails the same way again: nothing to resume. A fine-tune stopped in
            # its training otherwise (Ctrl-C, a crash) keeps what it had backed up.
            if isinstance(error, InputError) or os.listdir(backup_dir) == [_BACKUP_FILE]:
                shutil.rmtree(backup_dir, ignore_errors=True)
            raise
    if isinstance(getattr(tuned, "finetune_metrics", None), dict):
        chosen = (tuned.finetune_metrics.get("strategy") or {}).get("chosen")
        if chosen == "random":  # `strategy="auto"` found random weights better here.
            init = "random"
        tuned.finetune_metrics["init"] = init
    if out is not None:
        parent = task.metadata
        metadata = copy.deepcopy(parent)
        metadata.name = name or f"{parent.name}_finetuned"
        metadata.version = 1
        metadata.description = f"{parent.name}@{parent.version} fine-tuned on user data."
        metadata.dataset = {"name": "user data", "parent_dataset": parent.dataset.get("name")}
        metadata.metrics = {"finetune": getattr(tuned, "finetune_metrics", {})}
        metadata.tags = sorted(set(parent.tags) | {"finetuned", f"parent:{parent.full_name}"}
                               | ({"init:random"} if init == "random" else set()))
        if init == "random":
            metadata.description = (f"{parent.name}@{parent.version}'s architecture trained "
                                    "from random weights on user data.")
        metadata.command = command or (
            f"model_zoo.finetune({parent.full_name!r}, <data>, "
            + ", ".join(f"{k}={v!r}" for k, v in sorted(
                {**kwargs, **({"init": init} if init == "random" else {})}.items())
                        if isinstance(v, (int, float, str, bool))) + ")")
        metadata.created = ""
        metadata.source = None
        CheckpointMetadata.from_dict(metadata.to_dict())  # validates the new name
        tuned.save(out, metadata, overwrite=overwrite)
    if backup_dir is not None:
        shutil.rmtree(backup_dir, ignore_errors=True)  # Finished: nothing left to resume.
    return tuned


_BACKUP_FILE = "finetune.json"  # In a fine-tune's backup folder: whose backup it is.


def _finetune_fingerprint(model, data, init, kwargs):
    """sha256 of what a fine-tune depends on: the model, the data (a file's bytes), `init` and
    the options; a backup may only be resumed by the same fine-tune."""
    digest = hashlib.sha256()

    def add(obj):
        if isinstance(obj, (str, os.PathLike)) and os.path.isfile(obj):
            with open(obj, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        elif isinstance(obj, (list, tuple)) and any(isinstance(o, (str, os.PathLike))
                                                    for o in obj):
            for item in obj:
                add(item)
        else:
            try:
                digest.update(pickle.dumps(obj))
            except Exception:  # Not picklable (e.g. a generator): what it shows of itself.
                digest.update(repr(obj).encode())

    add(getattr(model, "name", None) or os.fspath(model))
    add(data)
    add(init)
    for key in sorted(set(kwargs) - {"verbose"}):  # How much it prints changes nothing.
        add(key)
        add(kwargs[key])
    return digest.hexdigest()


def _check_backup(backup_dir, fingerprint, resume):
    """Refuses to start over a killed fine-tune's backup without `resume`, to resume without
    one, or to resume another fine-tune's."""
    if backup_dir is None:
        if resume:
            raise InputError("resume=True continues from a backup: give `out=` (whose backup "
                             "is `<out>.backup`) or `backup_dir=`. Received: out=None, "
                             "backup_dir=None")
        return
    path = os.path.join(backup_dir, _BACKUP_FILE)
    if not os.path.isfile(path):
        if resume:
            raise InputError(f"There is no fine-tune to resume: {backup_dir} holds no backup "
                             f"({_BACKUP_FILE}). Received: {backup_dir}")
        if os.path.exists(backup_dir):
            raise InputError(f"The backup folder {backup_dir} exists and is not a fine-tune's "
                             f"backup; move it away or give another `backup_dir`. "
                             f"Received: {backup_dir}")
        require_writable(backup_dir, "fine-tuning backup", folder=True)
        return
    if not resume:
        raise InputError(f"{backup_dir} holds the backup of a fine-tune that did not finish. "
                         f"Continue it with resume=True (--resume), or delete the folder to "
                         f"start afresh. Received: {backup_dir}")
    with open(path, encoding="utf-8") as f:
        if json.load(f).get("fingerprint") != fingerprint:
            raise InputError(f"The backup in {backup_dir} was made by another fine-tune "
                             f"(another model, data or options): it cannot be resumed by this "
                             f"one. Delete it to start afresh. Received: {backup_dir}")
