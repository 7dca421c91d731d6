"""Text models: tokenizers, recurrent classifiers and language models."""

from model_zoo.models.text.character_tokenizer import CharacterTokenizer
from model_zoo.models.text.lstm_language_model import (
    StatefulSampler,
    build_lstm_language_model,
    transfer_encoder,
)
from model_zoo.models.text.text_classifier import (
    MaskedPooling,
    build_text_classifier,
    replace_head,
)
from model_zoo.models.text.tokenizer import TextTokenizer
from model_zoo.models.text.wordpiece_tokenizer import WordPieceTokenizer

TOKENIZERS = {"wordpiece": WordPieceTokenizer, "character": CharacterTokenizer}


def tokenizer_from_config(config, read_asset=None):
    """Rebuilds a tokenizer from its `get_config()` and a function reading its asset files."""
    kind = config.get("type")
    if kind not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer type; expected one of {sorted(TOKENIZERS)}. "
                         f"Received: {kind!r}")
    return TOKENIZERS[kind].from_config(config, read_asset)


__all__ = [
    "CharacterTokenizer",
    "MaskedPooling",
    "StatefulSampler",
    "TOKENIZERS",
    "TextTokenizer",
    "WordPieceTokenizer",
    "build_lstm_language_model",
    "build_text_classifier",
    "replace_head",
    "tokenizer_from_config",
    "transfer_encoder",
]
