# The classical layers and the pool a blended classifier holds: imported here so that loading
# a checkpoint registers them (`keras.saving.load_model` after importing this package).
from model_zoo.models import blending  # noqa: F401
from model_zoo.models.series_classification import minirocket, neighbours  # noqa: F401
from model_zoo.models.series_classification.rnn_classifier import (
    build_rnn_classifier,
    replace_head,
    with_input_channels,
)

__all__ = ["build_rnn_classifier", "replace_head", "with_input_channels"]
