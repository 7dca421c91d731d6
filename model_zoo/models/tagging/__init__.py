from model_zoo.models.tagging.bilstm_tagger import (
    TokenMeanLoss,
    TokenNLL,
    build_bilstm_tagger,
    has_crf,
    replace_head,
    training_model,
)

__all__ = ["TokenMeanLoss", "TokenNLL", "build_bilstm_tagger", "has_crf", "replace_head",
           "training_model"]
