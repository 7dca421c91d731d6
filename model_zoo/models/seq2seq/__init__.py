"""Sequence-to-sequence models: an attentional LSTM encoder-decoder, its tokenizer and decoding."""

from model_zoo.models.seq2seq.decoding import Seq2SeqDecoder
from model_zoo.models.seq2seq.lstm_seq2seq import (
    LabelSmoothedCrossEntropy,
    MaskedMean,
    build_lstm_seq2seq,
    with_target_vocabulary,
)
from model_zoo.models.seq2seq.sentencepiece_tokenizer import SentencePieceTokenizer

__all__ = ["LabelSmoothedCrossEntropy", "MaskedMean", "SentencePieceTokenizer", "Seq2SeqDecoder",
           "build_lstm_seq2seq", "with_target_vocabulary"]
