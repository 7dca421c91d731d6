"""Speech recognition: a convolutional + bidirectional-RNN acoustic model trained with CTC."""

from model_zoo.models.speech.char_ngram_lm import CharNgramLM
from model_zoo.models.speech.ctc_decoding import (
    ctc_beam_search_decode,
    ctc_greedy_decode,
    ctc_greedy_frames,
    ctc_prefix_beam_search,
)
from model_zoo.models.speech.ctc_recognizer import build_ctc_recognizer, output_frames

__all__ = ["build_ctc_recognizer", "ctc_beam_search_decode", "ctc_greedy_decode",
           "ctc_greedy_frames", "ctc_prefix_beam_search", "CharNgramLM", "output_frames"]
