"""LSTM language models (characters or subwords) and their stateful, compiled sampler.

    token ids -> Embedding -> Dropout -> LSTM stack (every step) -> Dropout -> Dense(vocab) logits

No masks: a language model trains on contiguous streams of text, so every recurrent layer is
cuDNN-eligible on every backend. Layer names (`embedding`, `encoder_lstm_0`, ...) match the
encoder of `build_text_classifier`, so `transfer_encoder` can start a classifier from a
pretrained language model (ULMFiT).

`StatefulSampler` generates text one token at a time: one compiled step per token that runs
the embedding, each recurrent *cell* with its carried state, the output layer and the sampling
(temperature, top-k, top-p), for a whole batch at once. The prefix is never re-run. Randomness
comes from Gumbel noise drawn on the host with NumPy from `seed`, so the same seed gives the
same text on every backend.
"""

import keras
import numpy as np
from keras import ops

from model_zoo.errors import InputError
from model_zoo.layers import rnn_stack
from model_zoo.models.step_functions import compile_function


def build_lstm_language_model(vocabulary_size, embedding_dim=64, cell="lstm", units=256,
                              depth=2, dropout=0.1, name="lstm_language_model", fast_rnn=None):
    """Builds the language model. Input `(batch, time)` ids; output `(batch, time, vocab)` logits.

    `fast_rnn=True` builds the zoo's fused `FastLSTM`/`FastGRU` (the same weights; faster to
    train at 256+ units on a CPU, see `model_zoo.layers.rnn_stack.recurrent_layer`).

    Example:
    >>> model = build_lstm_language_model(vocabulary_size=60, units=32)
    >>> model.output_shape
    (None, None, 60)
    """
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(ids)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = rnn_stack(x, cell=cell, units=units, depth=depth, dropout=dropout,
                  return_sequences=True, name="encoder", fast=fast_rnn)
    if dropout:
        x = keras.layers.Dropout(dropout, name="output_dropout")(x)
    logits = keras.layers.Dense(vocabulary_size, name="lm_head")(x)
    return keras.Model(ids, logits, name=name)


def recurrent_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def encoder_layer_names(model):
    """Names of the layers a classifier takes from a language model: embedding and encoder."""
    return ["embedding"] + [layer.name for layer in recurrent_layers(model)]


def transfer_encoder(language_model, classifier):
    """Copies the embedding and recurrent weights of `language_model` into `classifier`.

    Layers are matched by name; shapes must agree (same vocabulary, widths and depth).

    Returns:
        The names of the layers copied.
    """
    copied = []
    for name in encoder_layer_names(language_model):
        source = language_model.get_layer(name)
        try:
            target = classifier.get_layer(name)
        except ValueError:
            raise InputError(f"The classifier has no layer {name!r} to take the language "
                             f"model's weights. Received: {[l.name for l in classifier.layers]}"
                             ) from None
        shapes = [tuple(w.shape) for w in source.weights]
        if shapes != [tuple(w.shape) for w in target.weights]:
            raise InputError(f"Layer {name!r} has shapes {shapes} in the language model but "
                             f"{[tuple(w.shape) for w in target.weights]} in the classifier. "
                             f"Received: mismatched architectures")
        target.set_weights(source.get_weights())
        copied.append(name)
    return copied


# -- sampling ---------------------------------------------------------------------------------


def filter_logits(logits, temperature, top_k, top_p):
    """Temperature, then top-k, then top-p (nucleus) filtering; removed entries become -1e9.

    `temperature`, `top_k` (0: off) and `top_p` (1.0: off) are scalar tensors, so one compiled
    function serves every setting.
    """
    logits, temperature, top_k, top_p = (ops.convert_to_tensor(v) for v in (
        logits, temperature, top_k, top_p))
    logits = logits / ops.maximum(temperature, 1e-6)
    vocab = ops.shape(logits)[-1]
    ordered = ops.flip(ops.sort(logits, axis=-1), axis=-1)  # descending
    k = ops.where(top_k > 0, ops.minimum(top_k, vocab), vocab)
    kth = ops.take(ordered, ops.cast(k - 1, "int32"), axis=-1)[:, None]
    ordered = ops.where(ordered >= kth, ordered, -1e9)
    probs = ops.softmax(ordered, axis=-1)
    before = ops.cumsum(probs, axis=-1) - probs  # mass of the tokens ranked above
    kept = ops.sum(ops.cast(before < top_p, "int32"), axis=-1)  # >= 1: the first is kept
    pth = ops.take_along_axis(ordered, ops.maximum(kept - 1, 0)[:, None], axis=-1)
    threshold = ops.maximum(kth, pth)
    return ops.where(logits >= threshold, logits, -1e9)


class StatefulSampler:
    """Batched token-by-token generation from a language model built by this module.

    Args:
        model: a model from `build_lstm_language_model` (layers `embedding`, recurrent layers,
            `lm_head`).
        banned_ids: ids never sampled (padding, unknown, ...).

    Example:
    >>> sampler = StatefulSampler(model)
    >>> ids = sampler.generate([[5, 6, 7]], steps=100, temperature=0.8, seed=1)
    """

    def __init__(self, model, banned_ids=(0, 1)):
        self.embedding = model.get_layer("embedding")
        self.cells = [layer.cell for layer in recurrent_layers(model)]
        self.head = model.get_layer("lm_head")
        if not self.cells:
            raise InputError(f"{model.name} has no recurrent layers to sample from. Received: "
                             f"{[layer.name for layer in model.layers]}")
        bias = np.zeros((int(self.head.units),), "float32")
        bias[list(banned_ids)] = -1e9  # never sample padding or the unknown token
        self._bias = bias
        self._step = compile_function(self._step_fn, model.variables)

    def initial_states(self, batch):
        states = []
        for cell in self.cells:
            sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [
                cell.state_size]
            states.append([np.zeros((batch, size), "float32") for size in sizes])
        return states

    def advance(self, tokens, states):
        """One token through the network: `(logits, new states)`, the banned ids' logits
        lowered by 1e9 (the greedy graph of `model_zoo.export` runs this too)."""
        x = self.embedding(ops.convert_to_tensor(tokens))
        new_states = []
        for cell, state in zip(self.cells, states):
            x, state = cell(x, state if len(state) > 1 else state[0], training=False)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        return ops.add(self.head(x), ops.convert_to_tensor(self._bias)), new_states

    def _step_fn(self, tokens, states, noise, forced, use_forced, temperature, top_k, top_p):
        noise, forced, use_forced = (ops.convert_to_tensor(v) for v in (
            noise, forced, use_forced))
        logits, new_states = self.advance(tokens, states)
        logits = filter_logits(logits, temperature, top_k, top_p)
        sampled = ops.cast(ops.argmax(logits + noise, axis=-1), "int32")
        return ops.where(use_forced, forced, sampled), new_states

    def generate(self, prompts, steps, temperature=1.0, top_k=0, top_p=1.0, seed=None):
        """Continues each prompt (a list of token ids, at least one) by `steps` tokens.

        Returns:
            A list with the `steps` new ids of each prompt.
        """
        if not prompts or any(len(p) == 0 for p in prompts):
            raise InputError("Each prompt needs at least one token. Received: "
                             f"{[len(p) for p in prompts]} tokens")
        batch = len(prompts)
        lengths = np.array([len(p) for p in prompts])
        total = int(lengths.max()) + steps - 1
        forced = np.zeros((batch, total + 1), "int32")
        for k, prompt in enumerate(prompts):
            forced[k, :len(prompt)] = prompt
        positions = np.arange(total + 1)
        use_forced = positions[None, :] < lengths[:, None]
        greedy = temperature is not None and float(temperature) == 0.0
        vocab = int(self.head.units)
        rng = np.random.default_rng(seed)
        scalars = [np.asarray(1.0 if greedy else temperature, "float32"),
                   np.asarray(int(top_k or 0), "int32"), np.asarray(float(top_p), "float32")]
        states = self.initial_states(batch)
        tokens = forced[:, 0]
        out = [tokens]
        for t in range(total):
            noise = (np.zeros((batch, vocab), "float32") if greedy
                     else rng.gumbel(size=(batch, vocab)).astype("float32"))
            tokens, states = self._step(tokens, states, noise, forced[:, t + 1],
                                        use_forced[:, t + 1], *scalars)
            out.append(tokens)
        sequence = np.stack([ops.convert_to_numpy(o) for o in out], axis=1)
        return [sequence[k, lengths[k]:lengths[k] + steps].tolist() for k in range(batch)]


def check_sampling(temperature, top_k, top_p, steps):
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"The number of characters/tokens to generate must be a positive "
                         f"integer. Received: {steps!r}")
    if temperature is None or not 0.0 <= float(temperature) <= 100.0:
        raise InputError(f"`temperature` must be a number in [0, 100] (0: greedy). Received: "
                         f"{temperature!r}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 0):
        raise InputError(f"`top_k` must be a non-negative integer (0: off). Received: {top_k!r}")
    if top_p is None or not 0.0 < float(top_p) <= 1.0:
        raise InputError(f"`top_p` must be in (0, 1] (1: off). Received: {top_p!r}")
