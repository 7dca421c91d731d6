"""Task objects: a Keras model, its preprocessing and metadata, behind the verbs of one task.

`model_zoo.load(name)` returns one of these. A task class registers itself under the task name
that checkpoints record (`@register_task("forecasting")`), knows how to turn its preprocessing
state into JSON and back, and implements its verbs (`forecast`, `classify`, `generate`, ...) and
`finetune`.
"""

import copy
import importlib
import pkgutil
import reprlib

import numpy as np

from model_zoo.checkpoint import read_checkpoint, write_checkpoint
from model_zoo.errors import InputError
from model_zoo.registry import CheckpointMetadata
from model_zoo.tasks.cli_arguments import add_task_arguments

_TASKS = {}
# The types of the settings a served instance may hold (`Task.serving_instances`).
_SETTING_TYPES = {int: "an integer", float: "a number", str: "a string"}


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
        if info.name not in ("base", "cli_arguments"):
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
        fresh = self.with_model(keras.models.clone_model(self.model))
        fresh.random_init = True  # Its fine-tune comparison has no zero-shot row.
        return fresh

    def with_model(self, model):
        """A shallow copy of this task over `model` (preprocessing, vocabularies and metadata
        kept, the caches built from the old model cleared)."""
        fresh = copy.copy(self)
        fresh.model = model
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

    def export(self, directory, format="saved_model", quantize=None, overwrite=False,
               **options):
        """Writes this task as a SavedModel (and with `format="tflite"` a TFLite model) whose
        signature takes raw input and returns what the task's verb returns; see
        `model_zoo.export.export_task`. Returns the export's card (a dict)."""
        from model_zoo.export import export_task

        return export_task(self, directory, format=format, quantize=quantize,
                           overwrite=overwrite, **options)

    # -- strategy="auto" (see `model_zoo.training.auto_strategy`) --------------------------------

    #: The candidates `strategy="auto"` tries, in order (a tie goes to the earlier one).
    auto_candidates = ("gradual_unfreezing", "full", "random")

    def finetune_with_strategy(self, strategy, fit, score=None, metric=None,
                               higher_is_better=True, on=None, refit=None, seed=0):
        """Trains with `strategy`; with `strategy="auto"`, with each of `auto_candidates`,
        keeping the one with the best validation score. A task's `finetune` calls this once
        it has split the user's data; the held-out test part must not reach `fit` or `score`.

        Candidates: a strategy name (`"gradual_unfreezing"`, `"full"`) trains a copy of this
        model; `"random"` trains `self.reinitialized(seed)` with `"full"`; `"zero_shot"` calls
        `fit` with a strategy that trains nothing. Auto costs one training per candidate (and
        one more with `refit`).

        Args:
            strategy: `"auto"`, a strategy name, an object with `fit`, or None (the strategy's
                default, gradual unfreezing).
            fit: `fit(start, strategy) -> tuned task`: trains a copy of `start.model` (`start`
                is this task or its reinitialized copy) with `strategy` (what `get_strategy`
                takes) and returns the new task, its `finetune_metrics` set. It seeds itself,
                so that every candidate starts alike.
            score: `score(tuned) -> float`, the candidate's metric on the validation split;
                None when there is no validation split: auto then trains
                `auto_strategy.FALLBACK` and records why.
            metric: the name of `score`'s metric, for the record.
            higher_is_better: of `score`.
            on: what the candidates are measured on, in a few words, for the record.
            refit: optional `refit(start, strategy) -> tuned`: trains the winner once more,
                e.g. on training and validation data when the validation part was held out
                only to choose.
            seed: of `reinitialized`.

        Returns:
            The tuned task; `tuned.finetune_metrics["strategy"]` records `chosen` and, for
            auto, every candidate's validation score (`candidates`), `metric`,
            `higher_is_better`, `on` and `seconds`. After a `refit`, `tuned.refit_from` is the
            winning candidate as it was chosen (trained without the validation part).
        """
        from model_zoo.training import auto_strategy

        if not auto_strategy.is_auto(strategy):
            tuned = fit(self, strategy)
            record = {"chosen": auto_strategy.strategy_name(strategy)}
        elif score is None:
            tuned = fit(self, auto_strategy.FALLBACK)
            record = {"chosen": auto_strategy.FALLBACK, "candidates": {},
                      "reason": "no validation split to choose on: the default strategy "
                                "was trained"}
        else:
            names = [name for name in self.auto_candidates  # Already random: nothing to add.
                     if not (self.random_init and name in ("random", "zero_shot"))]
            chosen, tuned, scores, seconds = auto_strategy.choose(
                names, lambda name: fit(*self._auto_start(name, seed)), score,
                higher_is_better)
            record = {"chosen": chosen, "candidates": scores, "metric": metric,
                      "higher_is_better": bool(higher_is_better), "on": on,
                      "seconds": seconds}
            if refit is not None:
                candidate = tuned
                tuned = refit(*self._auto_start(chosen, seed))
                tuned.refit_from = candidate  # Not saved: for what is fitted on validation.
                record["refit"] = True
        tuned.finetune_metrics = {**getattr(tuned, "finetune_metrics", {}), "strategy": record}
        return tuned

    def _auto_start(self, name, seed):
        """`(start task, strategy)` of one candidate of `strategy="auto"`."""
        from model_zoo.training.auto_strategy import NoTraining

        if name == "random":
            from model_zoo.training.finetune import RecipeSchedule

            return self.reinitialized(seed), RecipeSchedule.from_metadata(self.metadata)
        if name == "zero_shot":
            return self, NoTraining()
        return self, name

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
        chosen = getattr(tuned, "finetune_metrics", {}).get("strategy", {})
        if chosen.get("candidates"):  # strategy="auto" chose among candidates: say which.
            from model_zoo.training.auto_strategy import CANDIDATES

            models["fine-tuned"] = (f"{self.name}: {CANDIDATES[chosen['chosen']]} (best on "
                                    "validation of strategy='auto')")
        if self.random_init:  # `rows["zero-shot"]` would be the random weights.
            rows.pop("zero-shot", None)
            models.pop("zero-shot", None)
            models["fine-tuned"] = f"{self.name}'s architecture trained from random weights"
            skipped["zero-shot"] = "trained from random weights: no pretrained model to compare"
        record = comparison.build(rows, self.comparison_metric, self.comparison_higher_is_better,
                                  split, models, skipped)
        tuned.finetune_metrics = {**getattr(tuned, "finetune_metrics", {}), "comparison": record}
        return record

    # -- serving (`model-zoo serve`, see `model_zoo.serving`) ------------------------------------

    #: What one instance of a served request (`{"instances": [...]}`) is for this task, and what
    #: one prediction is, in words, for the server's metadata endpoint: `{"instance": ...,
    #: "prediction": ...}`, formatted with `task=self` (`{task.horizon}` shows the checkpoint's
    #: own setting). None: the task cannot be served yet.
    serving_signature = None

    def serving_description(self):
        """`serving_signature` filled in for this checkpoint; an InputError if it has none."""
        if self.serving_signature is None:
            raise InputError(f"Task {self.task_name} cannot be served yet: its task class has no "
                             f"`serve_instances`. Received: {self.name}")
        return {key: text.format(task=self) for key, text in self.serving_signature.items()}

    def serve_instances(self, instances):
        """Runs the task's verb on served instances, once on all of them where it takes batches.

        Args:
            instances: a non-empty list of JSON values (strings, numbers, lists, objects), the
                `instances` of one request or of several gathered into one batch.

        Returns:
            One JSON-serialisable prediction per instance, in their order.

        Raises:
            InputError: an instance of the wrong form, or past a limit of `model_zoo.limits`
                (checked by the verb before it runs): the server answers 400.
        """
        self.serving_description()
        raise NotImplementedError(f"{type(self).__name__} has a serving signature but no "
                                  "`serve_instances`.")

    # What the task classes share to read JSON instances:

    @staticmethod
    def serving_instances(instances, key, settings=None):
        """Splits served instances into their values and their settings.

        An instance is its value itself (a string, a list of numbers, ...) or an object holding
        the value under `key` and some of `settings`; a setting null or absent is the verb's
        default.

        Args:
            instances: the JSON instances.
            key: the object key of the value, e.g. `"history"`.
            settings: `{name: int | float | str}`, the settings an object may hold (an integer
                is a number too; a boolean is neither).

        Returns:
            `(values, settings)`: two lists with one item per instance, the second of dicts of
            the settings given.
        """
        settings = settings or {}
        values, given = [], []
        for k, instance in enumerate(instances):
            if not isinstance(instance, dict):
                values.append(instance)
                given.append({})
                continue
            unknown = sorted(set(instance) - {key, *settings})
            if key not in instance or unknown:
                raise InputError(f"Instance {k + 1} is an object: it must hold {key!r} and may "
                                 f"hold {sorted(settings)}. Received: keys {sorted(instance)}")
            chosen = {}
            for name, kind in settings.items():
                value = instance.get(name)
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(
                        value, (int, float) if kind is float else kind):
                    raise InputError(f"Instance {k + 1}: `{name}` must be "
                                     f"{_SETTING_TYPES[kind]}. Received: "
                                     f"{name}={reprlib.repr(value)}")
                chosen[name] = value
            values.append(instance[key])
            given.append(chosen)
        return values, given

    @staticmethod
    def serving_values(value, k, rows=False):
        """The numbers of served instance `k` (0-based) as a float64 array.

        A non-empty list of numbers, or with `rows` also a list of equal-length lists of
        numbers (one row per time step). Anything else is an InputError here: in particular a
        string, which a verb would read as the path of a file on the server.
        """
        array = None
        if isinstance(value, list) and value:
            try:
                array = np.asarray(value)
            except ValueError:  # Rows of different lengths.
                pass
        if (array is None or array.dtype.kind not in "iuf"
                or array.ndim not in ((1, 2) if rows else (1,))):
            form = " (or of equal-length rows of numbers, one per time step)" if rows else ""
            raise InputError(f"Instance {k + 1} must be a non-empty list of numbers{form}. "
                             f"Received: {reprlib.repr(value)}")
        return array.astype("float64")

    @staticmethod
    def run_grouped(verb, values, settings, alone=None):
        """Calls `verb(values, **settings)` once per distinct settings, on all the values that
        have them (one call in all when no instance sets anything).

        Args:
            verb: a task verb taking a list and returning one result per item, in order.
            values, settings: as `serving_instances` returns them.
            alone: optional `alone(settings) -> bool`: such an instance gets a call of its own
                (a seeded sample, whose draws would depend on the rest of the batch).

        Returns:
            The results, in the order of `values`.
        """
        groups = {}
        for k, given in enumerate(settings):
            group = tuple(sorted(given.items())) + ((k,) if alone and alone(given) else ())
            groups.setdefault(group, []).append(k)
        out = [None] * len(values)
        for index in groups.values():
            results = verb([values[k] for k in index], **settings[index[0]])
            for k, result in zip(index, results):
                out[k] = result
        return out

    @staticmethod
    def each_instance(verb, values, settings):
        """`verb(value, **settings)` of each instance, for a verb that takes one input; an
        InputError names the instance."""
        out = []
        for k, (value, given) in enumerate(zip(values, settings)):
            try:
                out.append(verb(value, **given))
            except InputError as e:
                raise InputError(f"Instance {k + 1}: {e}") from None
        return out

    # -- command-line hooks ----------------------------------------------------------------------

    @classmethod
    def add_cli_arguments(cls, parser):
        """Adds this task's `predict`/`finetune` arguments to an argparse parser: those declared
        for it in `model_zoo.tasks.cli_arguments` (which the CLI reads without TensorFlow)."""
        add_task_arguments(cls.task_name, parser)

    def predict_cli(self, args):
        """Runs `model-zoo predict` for this task; returns a JSON-serialisable result."""
        raise NotImplementedError(f"`model-zoo predict` is not available for {self.task_name}.")

    @classmethod
    def finetune_data_from_cli(cls, args):
        """Reads the data `model-zoo finetune` passes to `finetune`."""
        raise NotImplementedError(f"`model-zoo finetune` is not available for {cls.task_name}.")
