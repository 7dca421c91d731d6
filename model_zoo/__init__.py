"""model_zoo: recurrent networks with pretrained checkpoints, recipes and fine-tuning.

>>> import model_zoo
>>> model_zoo.list_models()            # what is published
>>> model = model_zoo.load("forecast_lstm_taylor")
>>> model.forecast(series, horizon=48)
>>> tuned = model_zoo.finetune("forecast_lstm_co2", "my_series.csv", column="y", out="my_model")

Importing this package is cheap; TensorFlow is imported on the first `load`, `finetune` or
`cudnn_report`.
"""

from model_zoo import limits
from model_zoo.api import finetune, info, list_models, load
from model_zoo.errors import (
    IntegrityError,
    InputError,
    MissingDependencyError,
    ModelZooError,
    OfflineError,
    UnknownModelError,
)
from model_zoo.version import __version__

__all__ = [
    "IntegrityError",
    "InputError",
    "MissingDependencyError",
    "ModelZooError",
    "OfflineError",
    "UnknownModelError",
    "__version__",
    "cudnn_report",
    "finetune",
    "info",
    "limits",
    "list_models",
    "load",
]


def __getattr__(name):
    if name == "cudnn_report":
        from model_zoo.layers.cudnn import cudnn_report

        return cudnn_report
    raise AttributeError(f"module 'model_zoo' has no attribute {name!r}")
