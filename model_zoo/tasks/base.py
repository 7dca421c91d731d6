"""Task objects: a Keras model, its preprocessing and metadata, behind the verbs of one task.

`model_zoo.load(name)` returns one of these. A task class registers itself under the task name
that checkpoints record (`@register_task("forecasting")`), knows how to turn its preprocessing
state into JSON and back, and implements its verbs (`forecast`, `classify`, `generate`, ...) and
`finetune`.
"""

import copy
import importlib
import pkgutil

from model_zoo.checkpoint import read_checkpoint, write_checkpoint
from model_zoo.errors import InputError
from model_zoo.registry import CheckpointMetadata

_TASKS = {}


def register_task(name):
    """Class decorator: makes `load` build checkpoints whose metadata says `task=name` with it."""

    def decorator(cls):
        if name in _TASKS and _TASKS[name] is not cls:
            raise ValueError(f"Task `{name}` is already registered by {_TASKS[name].__name__}.")
        cls.task_name = name
        _TASKS[name] = cls
        return cls

    return decorator


def _import_all_tasks():
    import model_zoo.tasks as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base":
            importlib.import_module(f"model_zoo.tasks.{info.name}")


def task_class(name):
    """The task class registered under `name` (importing the task modules on first use)."""
    if name not in _TASKS:
        _import_all_tasks()
    if name not in _TASKS:
        raise InputError(
            f"No task `{name}` is known to this model_zoo (a newer version may have it). "
            f"Known tasks: {sorted(_TASKS)}. Received: task={name!r}"
        )
    return _TASKS[name]


def registered_tasks():
    _import_all_tasks()
    return dict(_TASKS)


class Task:
    """Base class of task objects.

    Subclasses implement `preprocessing_state()` / `from_state()` and their verbs.

    Args:
        model: the Keras model.
        preprocessing: the task's preprocessing state, a JSON-serialisable dict.
        metadata: the checkpoint's `CheckpointMetadata`, or None for a model not yet saved.
        directory: the folder it was loaded from, if any (to read assets).
    """

    task_name = None
    # Attributes that cache something built from `self.model` (compiled functions, decoders):
    # cleared when the model is replaced (`reinitialized`).
    model_caches = ()

    def __init__(self, model, preprocessing, metadata=None, directory=None):
        self.model = model
        self.preprocessing = preprocessing
        self.metadata = metadata
        self.directory = directory

    # -- loading and saving ------------------------------------------------------------------

    @classmethod
    def from_checkpoint(cls, resolved):
        model, preprocessing, metadata = read_checkpoint(resolved.directory)
        return cls(model, preprocessing, metadata, directory=resolved.directory)

    def assets(self):
        """Extra files written under `assets/` (vocabularies, ...): `{relative path: content}`."""
        return {}

    def save(self, directory, metadata=None, overwrite=False):
        """Writes this task as a checkpoint folder that `model_zoo.load(directory)` reads."""
        metadata = copy.deepcopy(metadata or self.metadata)
        if metadata is None:
            raise InputError(
                "Saving needs metadata (name, version, architecture). Pass "
                "metadata=CheckpointMetadata(...). Received: metadata=None"
            )
        metadata.task = self.task_name
        write_checkpoint(directory, self.model, self.preprocessing, metadata,
                         assets=self.assets(), overwrite=overwrite)
        self.metadata = CheckpointMetadata.load(directory)
        self.directory = directory
        return directory

    def reinitialized(self, seed=0):
        """A copy of this task whose network is the same architecture with fresh weights.

        The layers are rebuilt from their configs (`keras.models.clone_model`), so every
        weight is drawn again from its initializer; preprocessing, vocabularies and metadata
        are kept. `model_zoo.finetune(..., init="random")` trains such a copy, to measure
        what the pretrained weights buy.
        """
        import keras

        keras.utils.set_random_seed(seed)
        fresh = copy.copy(self)
        fresh.model = keras.models.clone_model(self.model)
        fresh.random_init = True  # Its fine-tune comparison has no zero-shot row.
        for attribute in self.model_caches:
            setattr(fresh, attribute, None)
        return fresh

    # -- description --------------------------------------------------------------------------

    @property
    def name(self):
        return self.metadata.full_name if self.metadata else "<unsaved>"

    def __repr__(self):
        params = self.model.count_params()
        return f"<{type(self).__name__} {self.name}: {params:,} parameters>"

    # -- verbs every task has -------------------------------------------------------------------

    def predict(self, *args, **kwargs):
        raise NotImplementedError

    def finetune(self, data, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not support fine-tuning yet.")

    def predict_example(self):
        """Runs the task's main verb on a small input built from its own preprocessing state.

        Returns:
            `(output, expected_shape)`; the registry tests check that they agree, for every
            published checkpoint.
        """
        raise NotImplementedError

    def evaluate(self, data, **kwargs):
        """Metrics of this model on `data`, computed as its recipe computes them."""
        raise NotImplementedError

    # -- the comparison every fine-tune reports (see `model_zoo.comparison`) ----------------------

    #: The metric of `evaluate` that decides the comparison, and whether higher is better.
    comparison_metric = None
    comparison_higher_is_better = True
    random_init = False

    def comparison_rows(self, tuned, train, test):
        """This task's part of a fine-tune's comparison (the one method a task implements).

        `self` is the parent (zero-shot) model, `tuned` the fine-tuned one; `train` is the part
        of the user's data the fine-tune saw (training and validation), `test` the held-out
        part, in the task's own form.

        Returns:
            `(rows, models, skipped)`: `rows` holds the `evaluate` metrics on `test` of
            "fine-tuned", "baseline" (the task's classical baseline fitted on `train` only) and,
            where meaningful, "zero-shot"; `models` describes each row's model in a few words;
            `skipped` gives the reason for a row left out.
        """
        raise NotImplementedError(f"{type(self).__name__} has no fine-tuning comparison yet.")

    def compare_finetuned(self, tuned, train, test, split):
        """Measures `tuned`, this model and the baseline on `test`; stores the comparison in
        `tuned.finetune_metrics["comparison"]` and returns it.

        Args:
            split: how `test` was held out: `rule` (a few words) and the sizes `train`,
                `validation`, `test`.
        """
        from model_zoo import comparison

        rows, models, skipped = self.comparison_rows(tuned, train, test)
        if self.random_init:  # `rows["zero-shot"]` would be the random weights.
            rows.pop("zero-shot", None)
            models.pop("zero-shot", None)
            models["fine-tuned"] = f"{self.name}'s architecture trained from random weights"
            skipped["zero-shot"] = "trained from random weights: no pretrained model to compare"
        record = comparison.build(rows, self.comparison_metric, self.comparison_higher_is_better,
                                  split, models, skipped)
        tuned.finetune_metrics = {**getattr(tuned, "finetune_metrics", {}), "comparison": record}
        return record

    # -- command-line hooks ----------------------------------------------------------------------

    @classmethod
    def add_cli_arguments(cls, parser):
        """Adds this task's `predict`/`finetune` arguments to an argparse parser."""

    def predict_cli(self, args):
        """Runs `model-zoo predict` for this task; returns a JSON-serialisable result."""
        raise NotImplementedError(f"`model-zoo predict` is not available for {self.task_name}.")

    @classmethod
    def finetune_data_from_cli(cls, args):
        """Reads the data `model-zoo finetune` passes to `finetune`."""
        raise NotImplementedError(f"`model-zoo finetune` is not available for {cls.task_name}.")
