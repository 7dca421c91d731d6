"""Recurrent building blocks: LSTM/GRU stacks (cuDNN-safe, fused on CPU), a peephole LSTM, reports.

Model families add their own layers here (attention, CRF, CTC, ...), one file each.
"""

from model_zoo.layers.crf import CRF
from model_zoo.layers.cudnn import CudnnReport, LayerVerdict, cudnn_report
from model_zoo.layers.fast_rnn import FastGRU, FastLSTM, fast_path_reason
from model_zoo.layers.peephole_lstm import PeepholeLSTMCell
from model_zoo.layers.rnn_stack import CELLS, recurrent_layer, rnn_stack

__all__ = [
    "CELLS",
    "CRF",
    "CudnnReport",
    "FastGRU",
    "FastLSTM",
    "LayerVerdict",
    "PeepholeLSTMCell",
    "cudnn_report",
    "fast_path_reason",
    "recurrent_layer",
    "rnn_stack",
]
