"""The recipe contract, and the registry of recipes.

A recipe is one module under `recipes/` that reads top to bottom like a tutorial: the data (a
fixed, published split and a tf.data pipeline), `build_model(hp, config=None)` whose Keras Tuner
search space defaults to the published configuration, training defaults, evaluation and
baselines. At its end a small class wires those functions into this contract and registers
itself with `@register_recipe`:

    @register_recipe
    class Forecasting(Recipe):
        name = "forecasting"
        task = "forecasting"
        defaults = {"dataset": "taylor", "epochs": 60, ...}
        ...

Recipes live in the top-level `recipes/` folder, installed as the package `model_zoo_recipes`.
"""

import importlib
import importlib.util
import json
import math
import os
import pkgutil
import sys

from model_zoo.errors import InputError, UnknownModelError
from model_zoo.optional import import_optional

_RECIPES = {}


def register_recipe(cls):
    """Class decorator: registers a `Recipe` subclass under its `name`."""
    if not getattr(cls, "name", None):
        raise ValueError(f"Recipe class {cls.__name__} needs a `name`.")
    existing = _RECIPES.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"Recipe `{cls.name}` is already registered by {existing.__name__}.")
    _RECIPES[cls.name] = cls
    return cls


def _recipes_package():
    """The recipes package: the checkout's `recipes/` when imported from a checkout (so that a
    git worktree uses its own recipes), else the installed `model_zoo_recipes`."""
    from model_zoo.registry.registry import checkout_root

    checkout = checkout_root()
    folder = os.path.join(checkout, "recipes") if checkout else None
    if folder and os.path.isfile(os.path.join(folder, "__init__.py")):
        module = sys.modules.get("model_zoo_recipes")
        if module is None or list(getattr(module, "__path__", [])) != [folder]:
            spec = importlib.util.spec_from_file_location(
                "model_zoo_recipes", os.path.join(folder, "__init__.py"),
                submodule_search_locations=[folder])
            module = importlib.util.module_from_spec(spec)
            sys.modules["model_zoo_recipes"] = module
            spec.loader.exec_module(module)
        return module
    return importlib.import_module("model_zoo_recipes")


def discover_recipes():
    """Imports every module of the recipes package, so that each registers itself."""
    package = _recipes_package()
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"model_zoo_recipes.{info.name}")
    return dict(_RECIPES)


def get_recipe(name):
    """An instance of the recipe registered as `name`."""
    if name not in _RECIPES:
        discover_recipes()
    if name not in _RECIPES:
        import difflib

        close = difflib.get_close_matches(name, list(_RECIPES), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownModelError(
            f"No recipe named `{name}`.{hint} `model-zoo recipes` lists them. "
            f"Received: {name!r}"
        )
    return _RECIPES[name]()


def coerce(text, like, key=None):
    """Parses a `--set key=value` string to the type of the default value `like`."""
    if not isinstance(text, str):
        return text
    expected = f"The setting `{key}` must be" if key else "Expected"
    if isinstance(like, bool):
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise InputError(f"{expected} true or false. Received: {text!r}")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise InputError(f"{expected} an integer. Received: {text!r}") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise InputError(f"{expected} a number. Received: {text!r}") from None
    if isinstance(like, (list, dict)) or like is None:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def check_hyperparameter(param, value):
    """Refuses a value outside the domain a Keras Tuner hyperparameter's search range implies.

    The search range is what tuning explores, not a hard bound (a smoke run sets `units=8`
    below it), so the value must only be of the range's kind: a categorical `Choice` one of
    its strings, a `Boolean` true or false, an integer (`Int`, a `Choice` of integers) a whole
    number, and a number within the signs and unit interval the range keeps to: positive if
    the range is (`depth`, `learning_rate`), non-negative if it starts at 0, at most 1 if it
    ends there (`dropout`).
    """
    config = param.get_config()
    name = config["name"]
    choices = config.get("values")
    if type(param).__name__ == "Boolean" or isinstance(config["default"], bool):
        ok, domain = isinstance(value, bool), "true or false"
    elif choices and not all(isinstance(c, (int, float)) for c in choices):
        ok, domain = value in choices, f"one of {choices}"
    else:
        low = min(choices) if choices else config["min_value"]
        high = max(choices) if choices else config["max_value"]
        whole = all(isinstance(c, int) for c in (choices or [low, high]))
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.isfinite(value)
        ok = number and (not whole or float(value).is_integer())
        bounds = []
        if low >= 0:
            ok = ok and (value > 0 if low > 0 else value >= 0)
            bounds.append("> 0" if low > 0 else ">= 0")
        if high <= 1 and not whole:
            ok = ok and value <= 1
            bounds.append("<= 1")
        domain = (f"{'an integer' if whole else 'a number'} {' and '.join(bounds)} "
                  f"(its search range is {low} to {high})")
    if not ok:
        raise InputError(f"The hyperparameter `{name}` must be {domain}. "
                         f"Received: {name}={value!r}")
    return value


class Recipe:
    """Base class of recipes. Subclasses set the class attributes and override the methods.

    Attributes:
        name: the recipe's registry name (`model-zoo train <name>`).
        task: the task of the checkpoints it publishes.
        architecture: the model family it builds.
        description: one sentence for `model-zoo recipes`.
        defaults: the published configuration (data set, epochs, batch size, ...); every key
            can be overridden with `--set key=value`, and so can the keys `complete_config`
            derives and the hyperparameters of `build_model`.
        smoke: overrides that make a run tiny (a few rows, one step) for the test suite.
        objective: the validation metric Keras Tuner minimises.
        sample_size: how much of the test split `evaluate(limit=...)` uses for the registry
            tests' quick re-measurement.
    """

    name = None
    task = None
    architecture = None
    description = ""
    license = "Apache-2.0"
    defaults = {}
    smoke = {}
    objective = "val_loss"
    sample_size = 8

    # -- what each recipe provides -------------------------------------------------------------

    def checkpoint_name(self, config):
        raise NotImplementedError

    def load_data(self, config):
        raise NotImplementedError

    def build_model(self, hp, config):
        raise NotImplementedError

    def fit(self, model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
        raise NotImplementedError

    def preprocessing(self, data, config):
        """The preprocessing state (JSON-serialisable) the checkpoint stores with the model."""
        raise NotImplementedError

    def make_task(self, model, data, config):
        """The task object around a trained model (default: the registered class of `task`)."""
        from model_zoo.tasks.base import task_class

        return task_class(self.task)(model, self.preprocessing(data, config))

    def evaluate(self, task, data, config, limit=None):
        """Test metrics `{name: number}` of `task` on the fixed test split (first `limit` items)."""
        raise NotImplementedError

    def baselines(self, data, config):
        """`{baseline name: {metric: number}}` on the same test split (default: none)."""
        return {}

    def dataset_info(self, data, config):
        """`{"name", "source", "license", "split": {...}}` for the checkpoint's metadata."""
        raise NotImplementedError

    def plots(self, task, data, config, metrics, out_dir):
        """Writes PNG figures into `out_dir`; returns their paths (default: none)."""
        return []

    # -- configuration ----------------------------------------------------------------------------

    def complete_config(self, config):
        """Adds values derived from the chosen settings (e.g. a data set's split and window),
        so that the stored config alone rebuilds the run. Default: none."""
        return config

    def search_space(self, config):
        """The Keras Tuner `HyperParameters` that `build_model` registers, at their defaults."""
        keras_tuner = import_optional("keras_tuner", "train", "A recipe's hyperparameters")

        hp = keras_tuner.HyperParameters()
        self.build_model(hp, config)
        return hp

    def resolve(self, overrides=None):
        """Splits `{key: value}` overrides into the run's `(config, hp)`.

        Keys of `defaults` go to the config; names of hyperparameters go to `hp`, whose other
        values stay at their defaults. Anything else is an error naming the valid keys.
        """
        keras_tuner = import_optional("keras_tuner", "train", "A recipe's hyperparameters")

        overrides = dict(overrides or {})
        config = dict(self.defaults)
        for key in list(overrides):
            if key in config:
                config[key] = coerce(overrides.pop(key), self.defaults[key], key)
        derived = self.complete_config(dict(config))
        for key in list(overrides):
            if key in derived and key not in config:
                derived[key] = coerce(overrides.pop(key), derived[key], key)
        config = derived
        space = self.search_space(config)
        known = {p.name: p for p in space.space}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise InputError(
                f"Recipe `{self.name}` has no setting {unknown}. Config keys: "
                f"{sorted(config)}; hyperparameters: {sorted(known)}. Received: {unknown}"
            )
        hp = keras_tuner.HyperParameters()
        for key, value in overrides.items():
            hp.values[key] = check_hyperparameter(known[key],
                                                  coerce(value, known[key].default, key))
        return config, hp
