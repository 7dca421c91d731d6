"""Recurrent building blocks: cuDNN-safe LSTM/GRU stacks, a peephole LSTM, the cuDNN report.

Model families add their own layers here (attention, CRF, CTC, ...), one file each.
"""

from model_zoo.layers.crf import CRF
from model_zoo.layers.cudnn import CudnnReport, LayerVerdict, cudnn_report
from model_zoo.layers.peephole_lstm import PeepholeLSTMCell
from model_zoo.layers.rnn_stack import CELLS, recurrent_layer, rnn_stack

__all__ = [
    "CELLS",
    "CRF",
    "CudnnReport",
    "LayerVerdict",
    "PeepholeLSTMCell",
    "cudnn_report",
    "recurrent_layer",
    "rnn_stack",
]
