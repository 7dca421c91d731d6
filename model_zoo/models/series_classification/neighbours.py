"""1-NN Euclidean as a Keras layer, to blend into a recurrent series classifier.

On the small UCR sets a fine-tuned classifier lost clearly to 1-NN Euclidean (GunPoint 0.767
against 0.913, ArrowHead 0.349 against 0.800; issue 18). `NeighbourClassifier` holds the
training series (scaled and zero-padded as the baseline has them) and turns their Euclidean
distances to a series into class probabilities:

    p(class) = sum over the training series i of that class of exp(-(d_i - d_min) / scale)
               / sum over all i of the same

`scale` small is 1-NN itself; it is chosen by leave-one-out log-loss on the training series
(`fit_neighbour_classifier`). Only `keras.ops`, so the blended checkpoint runs on every backend;
`model_zoo.models.blending` mixes its probabilities with the network's.
"""

import keras
import numpy as np
from keras import ops

from model_zoo.data.labelled_series import PAD_VALUE

#: Multiples of the median nearest-neighbour distance tried as `scale`.
SCALES = (0.01, 0.03, 0.1, 0.3, 1.0)


def zero_padded(x, length, pad_value):
    """`x` (`(batch, time, channels)`, padded with `pad_value`) with its padding set to 0 and
    cut or zero-padded to `length` steps: the classical baselines' layout. The time axis is
    then static (`length`), which TFLite's builtin convolutions need."""
    x = ops.where(ops.equal(x, pad_value), 0.0, ops.cast(x, "float32"))
    steps = ops.shape(x)[1]
    x = x[:, :length]
    if not isinstance(steps, int) or steps < length:
        x = ops.pad(x, [[0, 0], [0, length - ops.shape(x)[1]], [0, 0]])
    return ops.reshape(x, (-1, length, ops.shape(x)[2]))


@keras.saving.register_keras_serializable(package="model_zoo")
class NeighbourClassifier(keras.layers.Layer):
    """Class probabilities from the Euclidean distances to stored training series.

    The input is the classifier's: `(batch, time, channels)`, scaled, padded with
    `pad_value`, which counts as 0 (the baseline's zero padding); steps beyond the stored
    length are ignored, as the baseline cuts series to the longest training series.

    Args:
        length, channels: the stored series' shape.
        count: how many series are stored.
        num_classes: the number of classes.
        scale: the softness of the vote (see the module docstring).
        pad_value: the padding value of the classifier's input.

    Example:
    >>> layer = NeighbourClassifier(length=4, channels=1, count=2, num_classes=2, scale=0.1)
    >>> layer(np.zeros((3, 4, 1), "float32")).shape
    (3, 2)
    """

    def __init__(self, length, channels, count, num_classes, scale, pad_value=PAD_VALUE,
                 **kwargs):
        super().__init__(**kwargs)
        self.length, self.channels, self.count = int(length), int(channels), int(count)
        self.num_classes, self.scale, self.pad_value = int(num_classes), float(scale), \
            float(pad_value)
        self.series = self.add_weight(shape=(self.count, self.length * self.channels),
                                      initializer="zeros", trainable=False, name="series")
        self.classes = self.add_weight(shape=(self.count, self.num_classes),
                                       initializer="zeros", trainable=False, name="classes")

    def distances(self, x):
        """Euclidean distances `(batch, count)` of the padded, scaled series `x`."""
        x = ops.reshape(zero_padded(x, self.length, self.pad_value),
                        (-1, self.length * self.channels))
        squared = (ops.sum(x * x, axis=1, keepdims=True) - 2.0 * ops.matmul(x, ops.transpose(
            self.series)) + ops.sum(self.series * self.series, axis=1)[None, :])
        return ops.sqrt(ops.maximum(squared, 0.0))

    def call(self, x):
        d = self.distances(x)
        votes = ops.exp(-(d - ops.min(d, axis=1, keepdims=True)) / self.scale)
        per_class = ops.matmul(votes, self.classes)
        return per_class / ops.sum(per_class, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "length": self.length, "channels": self.channels,
                "count": self.count, "num_classes": self.num_classes, "scale": self.scale,
                "pad_value": self.pad_value}


def fit_neighbour_classifier(x, y, num_classes, pad_value=PAD_VALUE, seed=None):
    """A `NeighbourClassifier` storing the training series `x` (`(n, time, channels)`, scaled
    and padded as the classifier's input) with labels `y` (indices), its `scale` the multiple
    in `SCALES` of the median nearest-neighbour distance with the lowest leave-one-out
    log-loss on them (`seed` is unused: nothing here is random). Returns `(layer, record)`."""
    x = np.where(x == pad_value, 0.0, x).astype("float32")
    n, length, channels = x.shape
    flat = x.reshape(n, -1)
    onehot = np.eye(num_classes, dtype="float32")[np.asarray(y)]
    squared = (flat * flat).sum(1)
    d = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * flat @ flat.T, 0.0))
    np.fill_diagonal(d, np.inf)  # leave one out
    nearest = d.min(1)
    unit = float(np.median(nearest[np.isfinite(nearest)])) or 1.0
    losses = {}
    for factor in SCALES:
        votes = np.exp(-(d - nearest[:, None]) / (factor * unit))
        p = (votes @ onehot) / np.maximum(votes.sum(1, keepdims=True), 1e-30)
        losses[factor] = float(-np.mean(np.log(np.clip(p[np.arange(n), y], 1e-7, 1.0))))
    factor = min(losses, key=losses.get)
    layer = NeighbourClassifier(length, channels, n, num_classes, factor * unit, pad_value,
                                name="neighbour_classifier")
    layer.build((None, None, channels))
    layer.series.assign(flat)
    layer.classes.assign(onehot)
    return layer, {"scale": factor * unit, "scale_over_median_distance": factor,
                   "leave_one_out_log_loss": {str(k): v for k, v in losses.items()},
                   "training_series": int(n)}
