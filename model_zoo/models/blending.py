"""Blending a network's class probabilities with a classical model's, inside the Keras model.

On small data sets the classical baseline a user tries first (TF-IDF + logistic regression for
texts, 1-NN for series) is often right where a fine-tuned network is not, and the other way
round (issue 18). A task can then keep both in one Keras model:

    inputs -> the network -> probabilities ----------\\
          \\-> a classical model as a Keras layer ----> ProbabilityBlend(weight) -> probabilities

so the checkpoint carries the blend, every backend runs it (`keras.ops` only) and the task's
verbs are unchanged. Two blends, both fitted on validation data:

* `ProbabilityBlend` (series: the 1-NN's soft votes), a linear pool whose weight
  `choose_weight` picks from a few;
* `LogLinearBlend` (texts: the n-gram logistic regression), a log-linear pool
  `softmax(a * log p_network + b * log p_classical + bias)` whose `a`, `b` and `bias`
  `fit_log_linear_pool` fits, a logistic regression on the two models' log-probabilities
  (stacking). A network trained to near-zero loss is far more confident than a logistic
  regression, so no linear weight was right on IMDB: the validation log-loss chose 0.25 and
  the test accuracy was 0.902 at 0.25 against 0.911 at 0.75, while the fitted pool reached
  0.909-0.914 (the baseline: 0.906). The pool learns each model's scale.

The classical layers live with their task's models (`models/text/ngram_blend.py`,
`models/series_classification/neighbours.py`).
"""

import keras
import numpy as np
from keras import ops

#: The classical model's shares tried (0: the network alone), and the one kept unless the
#: validation data clearly prefer another.
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
DEFAULT_WEIGHT = 0.5
#: The blend layer's name in a blended model (`network_of` finds the network by it).
BLEND_LAYER = "classical_blend"
#: `LogLinearBlend`'s exponents without validation data: the geometric mean of the two.
DEFAULT_EXPONENTS = (0.5, 0.5)
_LOG_FLOOR = 1e-7  # probabilities are floored here before their log (a hard 0 is not -inf)


@keras.saving.register_keras_serializable(package="model_zoo")
class ProbabilityBlend(keras.layers.Layer):
    """`(1 - weight) * network + weight * classical`, two probability tensors.

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
    `fit_log_linear_pool`.

    Args:
        network_exponent, classical_exponent: each model's weight on the log scale.
        bias: one number per class (default zeros).

    Example:
    >>> LogLinearBlend(1.0, 1.0)([np.array([[0.5, 0.5]]), np.array([[0.2, 0.8]])])
    [[0.2, 0.8]]
    """

    def __init__(self, network_exponent, classical_exponent, bias=None, **kwargs):
        kwargs.setdefault("name", BLEND_LAYER)
        super().__init__(**kwargs)
        self.network_exponent = float(network_exponent)
        self.classical_exponent = float(classical_exponent)
        self.bias = None if bias is None else [float(b) for b in bias]

    def call(self, inputs):
        network, classical = inputs
        logits = (self.network_exponent * ops.log(ops.maximum(network, _LOG_FLOOR))
                  + self.classical_exponent * ops.log(ops.maximum(classical, _LOG_FLOOR)))
        if self.bias is not None:
            logits = logits + ops.convert_to_tensor(self.bias, dtype=logits.dtype)
        return ops.softmax(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "network_exponent": self.network_exponent,
                "classical_exponent": self.classical_exponent, "bias": self.bias}


def _pool_log_loss(log_network, log_classical, labels, params):
    """Per-example log-loss of the log-linear pool with `params` = (a, b, bias...)."""
    logits = params[0] * log_network + params[1] * log_classical + params[2:]
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_probabilities[np.arange(len(labels)), labels]


def fit_log_linear_pool(network, classical, labels, what):
    """`(LogLinearBlend, record)`: the pool of `network` and `classical` (validation
    probabilities, `(examples, classes)` each) that minimises the validation log-loss of the
    true label indices `labels`, with an L2 penalty of `1 / examples` pulling the exponents
    towards the geometric mean (0.5, 0.5) and the bias towards 0 (few examples: a cautious
    fit). Without validation examples (empty `labels`; the probabilities may then be None)
    the geometric mean. The record has the fitted numbers and each model's and the pool's
    validation log-loss."""
    from scipy.optimize import minimize

    labels = np.asarray(labels, dtype="int64")
    record = {"blend": "log-linear pool", "classical_model": what}
    if len(labels) == 0:
        a, b = DEFAULT_EXPONENTS
        return LogLinearBlend(a, b), {
            **record, "network_exponent": a, "classical_exponent": b, "bias": None,
            "rule": "no validation examples: the geometric mean of the two"}
    log_network = np.log(np.clip(np.asarray(network, "float64"), _LOG_FLOOR, 1.0))
    log_classical = np.log(np.clip(np.asarray(classical, "float64"), _LOG_FLOOR, 1.0))
    start = np.concatenate([DEFAULT_EXPONENTS, np.zeros(log_network.shape[1])])
    penalty = 1.0 / len(labels)

    def objective(params):
        return (_pool_log_loss(log_network, log_classical, labels, params).mean()
                + penalty * float(((params - start) ** 2).sum()))

    params = minimize(objective, start, method="L-BFGS-B").x
    bias = params[2:] - params[2:].mean()  # softmax is unchanged by a shared shift
    loss = {"network": float(_pool_log_loss(log_network, log_classical, labels,
                                            np.concatenate([[1.0, 0.0], 0 * bias])).mean()),
            "classical": float(_pool_log_loss(log_network, log_classical, labels,
                                              np.concatenate([[0.0, 1.0], 0 * bias])).mean()),
            "blend": float(_pool_log_loss(log_network, log_classical, labels,
                                          np.concatenate([params[:2], bias])).mean())}
    layer = LogLinearBlend(params[0], params[1], bias.tolist())
    return layer, {**record, "network_exponent": layer.network_exponent,
                   "classical_exponent": layer.classical_exponent, "bias": layer.bias,
                   "val_log_loss": loss, "validation_examples": int(len(labels)),
                   "rule": "exponents and bias of the lowest validation log-loss (L2 penalty "
                           "1/examples towards the geometric mean)"}


def choose_weight(network, classical, labels, what):
    """`(weight, record)`: the share of `classical` (validation probabilities, like `network`)
    in the blend, given the true label indices.

    The weight is `DEFAULT_WEIGHT` unless another of `WEIGHTS` has a lower mean log-loss by
    more than one standard error of the paired per-example differences: a hundred validation
    examples rank the weights by noise more often than not (on Amazon food reviews the lowest
    validation loss was the network alone, 0.754 test accuracy; the even blend's was 0.783
    and TF-IDF + LR's 0.761). Without validation examples (empty `labels`; the probabilities
    may then be None) it is `DEFAULT_WEIGHT`.
    """
    labels = np.asarray(labels, dtype="int64")
    record = {"weights": list(WEIGHTS), "default": DEFAULT_WEIGHT, "classical_model": what}
    if len(labels) == 0:
        return DEFAULT_WEIGHT, {**record, "weight": DEFAULT_WEIGHT,
                                "rule": "no validation examples: the default weight"}
    rows = np.arange(len(labels))
    per_example = {w: -np.log(np.clip(((1 - w) * network + w * classical)[rows, labels],
                                      1e-7, 1.0)) for w in WEIGHTS}
    losses = {w: float(v.mean()) for w, v in per_example.items()}
    best = min(losses, key=losses.get)  # a tie goes to the smaller weight
    difference = per_example[best] - per_example[DEFAULT_WEIGHT]
    error = (float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1
             else float("inf"))
    if not -float(difference.mean()) > error:
        best = DEFAULT_WEIGHT
    return best, {**record, "weight": best,
                  "val_log_loss": {str(w): v for w, v in losses.items()},
                  "rule": f"the lowest validation log-loss if it beats weight {DEFAULT_WEIGHT} "
                          f"by more than one standard error, else {DEFAULT_WEIGHT}",
                  "validation_examples": int(len(labels))}


def blended_model(model, classical, blend):
    """`model` (one input -> probabilities) with the layer `classical` (the same input ->
    probabilities) blended in by the layer `blend` (`ProbabilityBlend` or `LogLinearBlend`,
    named `BLEND_LAYER`): a flat functional model whose layers are `model`'s own plus the two
    new ones."""
    inputs = model.inputs[0]
    outputs = blend([model.outputs[0], classical(inputs)])
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
