"""Blending a network's class probabilities with a classical model's, inside the Keras model.

On small data sets the classical baseline a user tries first (TF-IDF + logistic regression for
texts, 1-NN for series) is often right where a fine-tuned network is not, and the other way
round (issue 18). A task can then keep both in one Keras model:

    inputs -> the network -> probabilities ----------\\
          \\-> a classical model as a Keras layer ----> LogLinearBlend -> probabilities

so the checkpoint carries the blend, every backend runs it (`keras.ops` only) and the task's
verbs are unchanged. The blend is `LogLinearBlend`, a log-linear pool
`softmax(a * log p_network + b * log p_classical + bias)` whose `a`, `b` and `bias`
`fit_log_linear_pool` fits on validation data: a logistic regression on the two models'
log-probabilities (stacking). It replaced a linear pool `(1 - w) p_network + w p_classical`
with `w` chosen from five values (`ProbabilityBlend`, kept so that fine-tunes saved with it
load): a network trained to near-zero loss is far more confident than a logistic regression,
so no linear weight was right on IMDB (the validation log-loss chose 0.25; test accuracy 0.902
at 0.25 against 0.911 at 0.75), while the fitted pool reached 0.909 (the baseline: 0.906). The
pool learns each model's scale.

The classical layers live with their task's models (`models/text/ngram_blend.py`,
`models/series_classification/neighbours.py`).
"""

import keras
import numpy as np
from keras import ops

#: The blend layer's name in a blended model (`network_of` finds the network by it).
BLEND_LAYER = "classical_blend"
#: `LogLinearBlend`'s exponents without validation data: the geometric mean of the two.
DEFAULT_EXPONENTS = (0.5, 0.5)
_LOG_FLOOR = 1e-7  # probabilities are floored here before their log (a hard 0 is not -inf)


@keras.saving.register_keras_serializable(package="model_zoo")
class ProbabilityBlend(keras.layers.Layer):
    """`(1 - weight) * network + weight * classical`, two probability tensors: the first
    blend, kept so that fine-tuned checkpoints saved with it load (new blends are
    `LogLinearBlend`).

    Args:
        weight: the classical model's share, in [0, 1].

    Example:
    >>> ProbabilityBlend(0.25)([np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])])
    [[0.75, 0.25]]
    """

    def __init__(self, weight, **kwargs):
        kwargs.setdefault("name", BLEND_LAYER)
        super().__init__(**kwargs)
        self.weight = float(weight)

    def call(self, inputs):
        network, classical = inputs
        return (1.0 - self.weight) * network + self.weight * classical

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


@keras.saving.register_keras_serializable(package="model_zoo")
class LogLinearBlend(keras.layers.Layer):
    """`softmax(network_exponent * log network + classical_exponent * log classical + bias)`,
    two probability tensors (each floored at 1e-7): a log-linear pool, fitted by
    `fit_log_linear_pool`. With several classical models, `classical_exponent` is a list
    (one exponent each) and the inputs are `[network, classical_1, classical_2, ...]`.

    Args:
        network_exponent, classical_exponent: each model's weight on the log scale (the
            classical one: a number, or a list of numbers for several classical models).
        bias: one number per class (default zeros).

    Example:
    >>> LogLinearBlend(1.0, 1.0)([np.array([[0.5, 0.5]]), np.array([[0.2, 0.8]])])
    [[0.2, 0.8]]
    """

    def __init__(self, network_exponent, classical_exponent, bias=None, **kwargs):
        kwargs.setdefault("name", BLEND_LAYER)
        super().__init__(**kwargs)
        self.network_exponent = float(network_exponent)
        self.classical_exponent = ([float(e) for e in classical_exponent]
                                   if isinstance(classical_exponent, (list, tuple))
                                   else float(classical_exponent))
        self.bias = None if bias is None else [float(b) for b in bias]

    def call(self, inputs):
        network, *classical = inputs
        exponents = (self.classical_exponent if isinstance(self.classical_exponent, list)
                     else [self.classical_exponent])
        logits = self.network_exponent * ops.log(ops.maximum(network, _LOG_FLOOR))
        for exponent, probabilities in zip(exponents, classical, strict=True):
            logits = logits + exponent * ops.log(ops.maximum(probabilities, _LOG_FLOOR))
        if self.bias is not None:
            logits = logits + ops.convert_to_tensor(self.bias, dtype=logits.dtype)
        return ops.softmax(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "network_exponent": self.network_exponent,
                "classical_exponent": self.classical_exponent, "bias": self.bias}


def _pool_log_loss(log_probabilities, labels, params):
    """Per-example log-loss of the log-linear pool of the models' `log_probabilities`
    (`(models, examples, classes)`) with `params` = (an exponent per model, bias...)."""
    from scipy.special import log_softmax

    models = len(log_probabilities)
    logits = np.tensordot(params[:models], log_probabilities, axes=1) + params[models:]
    return -log_softmax(logits, axis=1)[np.arange(len(labels)), labels]


def fit_log_linear_pool(network, classical, labels, what, names=None):
    """`(LogLinearBlend, record)`: the pool of `network` and `classical` (validation
    probabilities, `(examples, classes)` each; `classical` may be a list of several models'
    probabilities, named `names` in the record) that minimises the validation log-loss of the
    true label indices `labels`, with exponents >= 0 and an L2 penalty of `1 / examples`
    pulling the exponents towards the geometric mean (0.5, 0.5; 1/3 each for three models...)
    and the bias towards 0 (few examples: a cautious fit). Without validation examples (empty
    `labels`; the probabilities may then be None) the geometric mean. The record has the
    fitted numbers and each model's and the pool's validation log-loss."""
    from scipy.optimize import minimize

    several = isinstance(classical, (list, tuple)) or bool(names)
    names = list(names) if names else (
        [f"classical {i + 1}" for i in range(len(classical))] if several else ["classical"])
    labels = np.asarray(labels, dtype="int64")
    record = {"blend": "log-linear pool", "classical_model": what}
    exponents = np.full(len(names) + 1, 1.0 / (len(names) + 1))
    if len(names) == 1:
        exponents = np.asarray(DEFAULT_EXPONENTS)

    def layer_of(params, bias):
        return LogLinearBlend(params[0], params[1:].tolist() if several else params[1], bias)

    if len(labels) == 0:
        layer = layer_of(exponents, None)
        return layer, {
            **record, "network_exponent": layer.network_exponent,
            "classical_exponent": layer.classical_exponent, "bias": None,
            "rule": "no validation examples: the geometric mean of the models"}
    log_probabilities = np.log(np.clip(np.stack(
        [np.asarray(p, "float64") for p in [network, *(classical if several else [classical])]]),
        _LOG_FLOOR, 1.0))
    models, classes = len(log_probabilities), log_probabilities.shape[2]
    start = np.concatenate([exponents, np.zeros(classes)])
    penalty = 1.0 / len(labels)

    def objective(params):
        return (_pool_log_loss(log_probabilities, labels, params).mean()
                + penalty * float(((params - start) ** 2).sum()))

    # Exponents >= 0: a negative one would read a model backwards, which a handful of
    # confident mistakes on a small validation set can make look best (it did: 13 series).
    bounds = [(0.0, None)] * models + [(None, None)] * classes
    params = minimize(objective, start, method="L-BFGS-B", bounds=bounds).x
    bias = params[models:] - params[models:].mean()  # softmax is unchanged by a shared shift

    def alone(m):  # one model's own validation log-loss
        return float(_pool_log_loss(log_probabilities, labels, np.concatenate(
            [np.eye(models)[m], np.zeros(classes)])).mean())

    loss = {"network": alone(0), **{name: alone(m + 1) for m, name in enumerate(names)},
            "blend": float(_pool_log_loss(log_probabilities, labels,
                                          np.concatenate([params[:models], bias])).mean())}
    layer = layer_of(params[:models], bias.tolist())
    return layer, {**record, "network_exponent": layer.network_exponent,
                   "classical_exponent": layer.classical_exponent, "bias": layer.bias,
                   "val_log_loss": loss, "validation_examples": int(len(labels)),
                   "rule": "exponents and bias of the lowest validation log-loss (L2 penalty "
                           "1/examples towards the geometric mean)"}


def blended_model(model, classical, blend):
    """`model` (one input -> probabilities) with the layer `classical` (the same input ->
    probabilities; or a list of such layers) blended in by the layer `blend`
    (`ProbabilityBlend` or `LogLinearBlend`, named `BLEND_LAYER`): a flat functional model
    whose layers are `model`'s own plus the new ones."""
    inputs = model.inputs[0]
    layers = classical if isinstance(classical, (list, tuple)) else [classical]
    outputs = blend([model.outputs[0], *(layer(inputs) for layer in layers)])
    return keras.Model(inputs, outputs, name=model.name)


def network_of(model):
    """The network of a blended model (its layers, without the classical model and the
    blend); `model` itself when it has no blend. Fine-tuning a blended model again starts
    from its network (a new head, new inputs) and blends anew."""
    try:
        blend = model.get_layer(BLEND_LAYER)
    except ValueError:
        return model
    return keras.Model(model.inputs[0], blend.input[0], name=model.name)
