from model_zoo.models.series_classification.rnn_classifier import (
    build_rnn_classifier,
    replace_head,
    with_input_channels,
)

__all__ = ["build_rnn_classifier", "replace_head", "with_input_channels"]
