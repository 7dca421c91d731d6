"""`model-zoo train`: run a recipe end to end, write a run folder, optionally publish.

A run folder (`runs/<recipe>/<time>-<checkpoint name>/`) holds:

    run.json         how the run was started (recipe, --set values, seed, ...)
    config.json      the resolved config and hyperparameters
    backup/          the training state after the last epoch (or N steps), by stage, while
                     the run trains: `model-zoo train --resume RUN_DIR` continues a killed
                     run from it (see `model_zoo.training.backup`); removed when it ends
    history.json     the Keras training history
    metrics.json     test metrics, baselines, the quick-check sample metrics
    tensorboard/     TensorBoard logs
    plots/*.png      the recipe's figures and the training curves
    checkpoint/      the trained checkpoint (loadable with model_zoo.load(path))

With `publish=True` the checkpoint and its metadata also go into the registry folder, and the
registry tests re-measure it from then on. A run folder can be anywhere (`run_dir=`,
`--run-dir`, or under `MODEL_ZOO_RUNS`), so a run stopped today can be resumed days later by
another process and published as usual.
"""

import contextlib
import dataclasses
import datetime
import glob
import json
import os
import shlex
import shutil
import time

from model_zoo.checkpoint import fill_card_notes
from model_zoo.errors import InputError
from model_zoo.fsutil import replace_folder, require_writable, staging_folder
from model_zoo.limits import positive_int
from model_zoo.optional import import_optional
from model_zoo.registry import CheckpointMetadata, builtin_root
from model_zoo.registry.metadata import METADATA_FILE
from model_zoo.training.distribute import (check_strategy_name, describe, make_strategy,
                                           off_strategy)
from model_zoo.training.plots import pyplot, save_figure
from model_zoo.training.recipe import get_recipe


@dataclasses.dataclass
class RunResult:
    run_dir: str
    checkpoint_dir: str
    metrics: dict
    published: str | None = None


def runs_root():
    return os.path.abspath(os.environ.get("MODEL_ZOO_RUNS", "runs"))


def new_run_dir(group, name):
    """The default run folder of a new run: `<runs root>/<group>/<time>-<name>`."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(runs_root(), group, f"{stamp}-{name}")


def set_seed(seed):
    import keras

    keras.utils.set_random_seed(seed)


def canonical_command(recipe, overrides, epochs, seed, publish, distribute=None):
    parts = ["model-zoo", "train", recipe]
    for key, value in overrides.items():
        parts += ["--set", f"{key}={value}"]
    if epochs is not None:
        parts += ["--epochs", str(epochs)]
    parts += ["--seed", str(seed)]
    if distribute:
        parts += ["--distribute", distribute]
    if publish:
        parts.append("--publish")
    return " ".join(shlex.quote(p) for p in parts)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_jsonable(obj), f, indent=2)
        f.write("\n")


def _plot_history(history, path):
    """The loss curves of a Keras history, or of a list of them (one per fit of a fine-tune,
    drawn one after the other)."""
    plt = pyplot()

    fits = history if isinstance(history, list) else [history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    start = 0
    for i, fit in enumerate(fits):
        length = 0
        for key, values in fit.items():
            if "loss" in key:
                ax.plot(range(start + 1, start + len(values) + 1), values,
                        label=key if len(fits) == 1 else f"{key} (fit {i + 1})")
                length = max(length, len(values))
        start += length
        if len(fits) > 1 and i < len(fits) - 1:
            ax.axvline(start + 0.5, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


@contextlib.contextmanager
def recorded_fits(run_dir, log=None):
    """Records every training in the block into the run folder `run_dir`, as `train` does.

    Every `fit_model` in the block (a fine-tune's strategies, candidates and stages) gets a
    TensorBoard callback and a recorder (through `training_callbacks`), and the folder gets:

        tensorboard/fit-N/          TensorBoard logs of the N-th fit
        history.json                {"fits": [the Keras history of each fit, in order]}
        plots/training_curves.png   the losses of every fit, one after the other
        <name>.json                 each `files[name]` the block sets (yielded: a dict)

    Nothing is written before the first fit starts (input refused before any training leaves
    no folder); the history, the curves and `files` when the block ends without an error.
    `log(line)`, if given, is told when each fit starts and ends.
    """
    import keras

    from model_zoo.training.fit import training_callbacks

    import_optional("tensorboard", "train", "A fine-tune's TensorBoard logs")
    fits, files, started = [], {}, time.monotonic()

    class Board(keras.callbacks.TensorBoard):
        def set_model(self, model):  # Before each fit's on_train_begin: one folder per fit.
            self.log_dir = os.path.join(run_dir, "tensorboard", f"fit-{len(fits) + 1}")
            super().set_model(model)

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            fits.append({})
            self.began = time.monotonic()
            if log:
                epochs = (self.params or {}).get("epochs")
                log(f"fit {len(fits)} ({self.model.name}, {epochs} epoch"
                    f"{'' if epochs == 1 else 's'}) starts {time.monotonic() - started:.0f} s in")

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                fits[-1].setdefault(key, []).append(float(value))

        def on_train_end(self, logs=None):
            if log:
                log(f"fit {len(fits)} done in {time.monotonic() - self.began:.1f} s")

    with training_callbacks([Board(os.path.join(run_dir, "tensorboard")), Recorder()]):
        yield files
    os.makedirs(os.path.join(run_dir, "plots"), exist_ok=True)
    _write_json(os.path.join(run_dir, "history.json"), {"fits": fits})
    if any(fits):
        _plot_history(fits, os.path.join(run_dir, "plots", "training_curves.png"))
    for name, obj in files.items():
        _write_json(os.path.join(run_dir, f"{name}.json"), obj)


def _publication(name, registry_dir=None, replace=False):
    """`(target, version, keep)` for publishing `name`: its folder, the new version and where
    the current one is kept (None: nowhere). Raises InputError if that place is taken."""
    registry_dir = os.path.abspath(registry_dir or builtin_root())
    target = os.path.join(registry_dir, name)
    kept = glob.glob(os.path.join(glob.escape(registry_dir), f"{name}@*", METADATA_FILE))
    newest = max((CheckpointMetadata.load(os.path.dirname(p)).version for p in kept), default=0)
    if not os.path.isfile(os.path.join(target, METADATA_FILE)):
        return target, newest + 1, None  # e.g. only `name@N` folders are left
    current = CheckpointMetadata.load(target).version
    if replace:
        return target, current, None
    keep = os.path.join(registry_dir, f"{name}@{current}")
    if os.path.lexists(keep):
        raise InputError(
            f"Cannot publish a new version of {name}: the current version {current} is to be "
            f"kept as {keep}, which exists already. Move one of them away, or pass replace=True "
            f"(--replace) to overwrite version {current}. Received: {keep}"
        )
    return target, max(current, newest) + 1, keep


def check_publishable(name, registry_dir=None, replace=False):
    """Raises InputError now, before any training, if publishing `name` would be refused."""
    _publication(name, registry_dir, replace)


def publish(task, metadata, registry_dir=None, replace=False):
    """Writes `task` into the registry folder as `metadata.name`; returns the new folder.

    Without `replace`, an existing checkpoint of that name is kept as `<name>@<version>` and
    the new one gets the next version; with it, the newest version is overwritten in place.
    The new version is written completely into a temporary folder first and then swapped in:
    if anything fails, the registry folder is left exactly as it was.
    """
    target, metadata.version, keep = _publication(metadata.name, registry_dir, replace)
    with staging_folder(target) as staging:
        written = os.path.join(staging, metadata.name)
        task.save(written, metadata)
        replace_folder(written, target, keep=keep)
    task.metadata = CheckpointMetadata.load(target)
    task.directory = target
    return target


def start_from(model, config):
    """Copies the weights of the checkpoint `config["init_from"]` names into `model`.

    A recipe opts in to continued training by having an `init_from` key in its defaults
    (`""`: random initialisation); `--set init_from=NAME` (a registered name, `name@N` or a
    checkpoint folder) then starts its freshly built model from that checkpoint's weights, which
    must have the same shapes (`copy_weights` says which one differs). With `init_partial`
    true in the config, only the layers that match in name and shapes are copied and the
    others keep their fresh initialisation (e.g. a model grown by one layer). The base stays in
    the registry, so the chain of runs stays reproducible.
    """
    spec = config.get("init_from")
    if not spec:
        return model
    from model_zoo.api import load
    from model_zoo.models.copying import copy_weights

    return copy_weights(load(spec).model, model, spec,
                        strict=not config.get("init_partial", False))


RUN_FILE = "run.json"  # How the run was started: what `resume` starts it again with.


def train(recipe_name, overrides=None, epochs=None, seed=0, publish_to_registry=False,
          replace=False, run_dir=None, registry_dir=None, verbose=2, backup_steps=None,
          resume=False, distribute=None, log=None):
    """Trains, evaluates and (optionally) publishes a recipe's model. See the module docstring.

    The run's training state is backed up in `<run_dir>/backup` after every epoch (and every
    `backup_steps` training steps, for long epochs), so a killed run continues with
    `resume(run_dir)` (`model-zoo train --resume RUN_DIR`) exactly where it was. A run folder
    that holds a run already is refused unless `resume` is true (then `resume(run_dir)` is
    the way to call it). `distribute="mirrored"` trains data-parallel over the machine's
    devices (`model_zoo.training.distribute`); the global batch size stays the recipe's.
    `log(line)`, if given, is told when each step starts (loading and preparing the data,
    building corpora and vocabularies included; training; evaluating; the baselines; saving).
    """
    import keras

    from model_zoo.training.backup import RunBackup

    recipe = get_recipe(recipe_name)
    overrides = dict(overrides or {})
    config, hp = recipe.resolve(overrides)
    if epochs is not None:
        config["epochs"] = positive_int(epochs, "epochs")
    if backup_steps is not None:
        backup_steps = positive_int(backup_steps, "backup_steps")
    check_strategy_name(distribute)
    set_seed(seed)
    name = recipe.checkpoint_name(config)
    if publish_to_registry:
        check_publishable(name, registry_dir, replace)
    run_dir = os.path.abspath(run_dir or new_run_dir(recipe.name, name))
    require_writable(run_dir, "run folder", folder=True)
    if not resume and os.path.isfile(os.path.join(run_dir, RUN_FILE)):
        raise InputError(
            f"{run_dir} holds a run already. Continue it with `model-zoo train --resume "
            f"{run_dir}`, or give another --run-dir. Received: {run_dir}")
    log = log or (lambda line: None)
    started = time.monotonic()
    strategy = make_strategy(distribute)
    log(f"loading and preparing the data of recipe {recipe.name}")
    data = recipe.load_data(config)
    log(f"data ready in {time.monotonic() - started:.1f} s; training {name}")
    # Under a strategy the model is built, compiled and trained in its scope.
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = start_from(recipe.build_model(hp, config), config)
        os.makedirs(os.path.join(run_dir, "plots"), exist_ok=True)  # Once the model is built.
        _write_json(os.path.join(run_dir, "config.json"),
                    {"recipe": recipe.name, "config": config, "hp": hp.values, "seed": seed})
        _write_json(os.path.join(run_dir, RUN_FILE),
                    {"recipe": recipe.name, "overrides": overrides, "epochs": epochs,
                     "seed": seed, "publish_to_registry": publish_to_registry,
                     "replace": replace, "registry_dir": registry_dir,
                     "backup_steps": backup_steps, "distribute": distribute})
        backup = RunBackup(os.path.join(run_dir, "backup"), save_freq=backup_steps or "epoch")
        import_optional("tensorboard", "train", "A training run's TensorBoard logs")
        callbacks = [keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")), backup]
        history = recipe.fit(model, data, config, hp, callbacks=callbacks, verbose=verbose)
    history = getattr(history, "history", history) or {}
    train_seconds = time.monotonic() - started
    if strategy is not None:
        model = off_strategy(model)  # Evaluated, saved and served on one device.
    log(f"trained in {train_seconds:.1f} s; evaluating on the test split")
    task = recipe.make_task(model, data, config)
    test = recipe.evaluate(task, data, config)
    sample = recipe.evaluate(task, data, config, limit=recipe.sample_size)
    log("fitting and evaluating the classical baselines")
    baselines = recipe.baselines(data, config)
    log(f"writing the run folder {run_dir}")
    metrics = {"test": test, "test_sample": {"limit": recipe.sample_size, **sample},
               "baselines": baselines, "train_seconds": round(train_seconds, 1),
               "epochs_run": len(next(iter(history.values()), []))}
    if strategy is not None:
        metrics["distribute"] = describe(strategy, distribute)
    _write_json(os.path.join(run_dir, "history.json"), history)
    _write_json(os.path.join(run_dir, "metrics.json"), metrics)
    if history:
        _plot_history(history, os.path.join(run_dir, "plots", "training_curves.png"))
    recipe.plots(task, data, config, metrics, os.path.join(run_dir, "plots"))

    metadata = CheckpointMetadata(
        name=name, version=1, task=recipe.task, architecture=recipe.architecture,
        description=recipe.describe(config) if hasattr(recipe, "describe") else recipe.description,
        recipe=recipe.name, config={"config": config, "hp": hp.values, "seed": seed},
        dataset=recipe.dataset_info(data, config), metrics=_jsonable(metrics),
        license=recipe.license,
        command=canonical_command(recipe.name, overrides, epochs, seed, True, distribute),
        tags=[recipe.name],
        # The card's "Intended use and limitations": the recipe's notes, filled in with this
        # run's numbers (model_zoo.checkpoint.fill_card_notes).
        **fill_card_notes(getattr(recipe, "card_notes", None), config, _jsonable(metrics)),
    )
    checkpoint_dir = os.path.join(run_dir, "checkpoint")
    task.save(checkpoint_dir, metadata, overwrite=True)
    shutil.rmtree(backup.backup_dir, ignore_errors=True)  # The run is done: nothing to resume.
    published = None
    if publish_to_registry:
        published = publish(task, CheckpointMetadata.load(checkpoint_dir), registry_dir, replace)
    return RunResult(run_dir, checkpoint_dir, metrics, published)


def resume(run_dir, verbose=2, log=None):
    """Continues the run a kill interrupted in `run_dir`, from its last backup, with the
    settings it was started with; then evaluates and publishes it as the run would have.

    The epochs after the backup are the ones the uninterrupted run would have trained (same
    data order, random state, early stopping and learning-rate schedule); a multi-stage recipe
    continues in the stage it was in. Returns the `RunResult`.
    """
    run_dir = os.path.abspath(os.fspath(run_dir))
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.isfile(path):
        raise InputError(
            f"{run_dir} is not a run folder of `model-zoo train` (it has no {RUN_FILE}). "
            f"Received: {run_dir}")
    if os.path.isfile(os.path.join(run_dir, "checkpoint", METADATA_FILE)):
        raise InputError(
            f"The run in {run_dir} has finished: there is nothing to resume. Publish it with "
            f"`model-zoo publish {run_dir}`, or train again in another folder. "
            f"Received: {run_dir}")
    with open(path, encoding="utf-8") as f:
        settings = json.load(f)
    recipe = settings.pop("recipe")
    return train(recipe, run_dir=run_dir, verbose=verbose, resume=True, log=log, **settings)


def publish_run(run_dir, registry_dir=None, replace=False):
    """Publishes the checkpoint a finished `train` run left in `run_dir/checkpoint`.

    Training without `--publish`, looking at the run, then publishing it is the same as
    training with `--publish`: the checkpoint's metadata already records that command.
    """
    from model_zoo.api import load

    checkpoint = os.path.join(os.path.abspath(run_dir), "checkpoint")
    if not os.path.isfile(os.path.join(checkpoint, METADATA_FILE)):
        raise InputError(
            f"{run_dir} holds no finished run: there is no checkpoint/{METADATA_FILE} in it. "
            f"Received: {run_dir}"
        )
    task = load(checkpoint)
    return publish(task, CheckpointMetadata.load(checkpoint), registry_dir, replace)


def evaluate_published(spec, limit=None, rtol=2e-3, atol=1e-6, log=None):
    """Re-measures a published checkpoint with its recipe; compares with the registry.

    Args:
        spec: registered name (or `name@N`) or checkpoint folder.
        limit: evaluate only the recipe's quick-check sample (compared with `test_sample`).
        log: `log(line)` is told of each step once the checkpoint is loaded (the CLI's
            progress lines).

    Returns:
        `(rows, ok)`: rows of `(metric, recorded, measured)` and whether all agree.
    """
    from model_zoo.api import load

    task = load(spec)
    metadata = task.metadata
    if "test" not in metadata.metrics or "test_sample" not in metadata.metrics:
        raise InputError(
            f"{metadata.full_name} has no test metrics recorded by a recipe (a fine-tuned "
            "checkpoint is evaluated on its own data with the task's `evaluate`). "
            f"Received: metrics {sorted(metadata.metrics)}"
        )
    recipe = get_recipe(metadata.recipe)
    # Settings the recipe gained after this checkpoint was trained take their defaults (which
    # keep the old behaviour: e.g. the speech recipe's `voices`, added with `@6`).
    config = {**recipe.defaults, **metadata.config["config"]}
    log = log or (lambda line: None)
    started = time.monotonic()
    log(f"loading the data of recipe {recipe.name}")
    data = recipe.load_data(config)
    log(f"measuring {metadata.full_name} on the "
        f"{'quick-check sample' if limit else 'test split'} "
        f"({time.monotonic() - started:.0f} s in)")
    if limit:
        recorded = metadata.metrics["test_sample"]
        measured = recipe.evaluate(task, data, config, limit=recorded["limit"])
    else:
        recorded = metadata.metrics["test"]
        measured = recipe.evaluate(task, data, config)
    rows, ok = [], True
    for key, value in recorded.items():
        if key == "limit" or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        got = measured.get(key)
        agree = got is not None and abs(got - value) <= atol + rtol * abs(value)
        ok = ok and agree
        rows.append((key, value, got, agree))
    return rows, ok
