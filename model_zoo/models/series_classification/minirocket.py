"""MiniRocket + ridge regression as a Keras layer, to blend into a recurrent series classifier.

MiniRocket (Dempster et al., 2021) is the strongest classical series classifier a user tries in
one line, and it beat the zoo's networks on their own data: by one test series on the
published ItalyPowerDemand and JapaneseVowels checkpoints, and by far, as did 1-NN, on
small UCR sets after fine-tuning (issue 18). `MiniRocketClassifier` is aeon's
`MiniRocketClassifier` (transform, `StandardScaler(with_mean=False)`, `RidgeClassifierCV`)
inside the Keras model:

    x (batch, time, channels), scaled, padding -> 0, cut or zero-padded to the fitted length
      -> for each dilation d: one dilated convolution with MiniRocket's 84 fixed kernels
         (weights -1 and 2, length 9; each kernel summed over its own set of channels)
      -> PPV: the share of positions where each kernel's output exceeds each of its biases
         (even kernels over every position, odd ones without the zero-padded ends)
      -> / feature std -> ridge scores -> softmax(temperature * scores)

The fitting is aeon's and scikit-learn's (`fit_minirocket_classifier`); only the transform
is written again here, in `keras.ops`, because aeon's is numba code that cannot run inside a
Keras model (every backend, SavedModel, TFLite). `tests/test_series_classification.py`
checks it against aeon's transform feature by feature. The temperature turns ridge scores
(fitted to +-1 targets) into probabilities: the one of the lowest 5-fold cross-validated
log-loss on the training series, so the pool (`model_zoo.models.blending`) starts from
calibrated votes.
"""

import warnings
from itertools import combinations

import keras
import numpy as np
from keras import ops

from model_zoo.data.labelled_series import PAD_VALUE
from model_zoo.models.series_classification.neighbours import zero_padded
from model_zoo.optional import import_optional

#: MiniRocket's 84 kernels: length 9, weight 2 at three of the taps, -1 at the other six.
KERNEL_TAPS = np.array([[2.0 if t in chosen else -1.0 for t in range(9)]
                        for chosen in combinations(range(9), 3)], dtype="float32")
#: Ridge penalties tried (aeon's `MiniRocketClassifier`'s).
ALPHAS = np.logspace(-3, 3, 10)
#: Temperatures tried on the ridge scores (see the module docstring).
TEMPERATURES = np.logspace(-2, 2, 41)
MIN_LENGTH = 9  # MiniRocket's kernel length: shorter series are zero-padded to it


@keras.saving.register_keras_serializable(package="model_zoo")
class MiniRocketClassifier(keras.layers.Layer):
    """Class probabilities from MiniRocket features and a ridge classifier.

    The input is the recurrent classifier's: `(batch, time, channels)`, scaled, padded with
    `pad_value`, which counts as 0 (aeon's zero padding); series are cut or zero-padded to
    `length`, the longest training series, as the fitted transform had them.

    Args:
        length, channels: the fitted series' shape.
        num_classes: the number of classes.
        dilations: MiniRocket's dilations, one per group of 84 kernels.
        features_per_dilation: biases per kernel at each dilation.
        temperature: the factor on the ridge scores before the softmax.
        pad_value: the padding value of the classifier's input.

    The fitted numbers are weights: `channel_mask` (which channels each of the
    `84 * len(dilations)` kernels sums), `biases`, `feature_scale` (1 / std of each feature),
    `coef` and `intercept` (the ridge classifier's, one column per class).

    Example:
    >>> layer = MiniRocketClassifier(length=16, channels=1, num_classes=2, dilations=[1],
    ...                              features_per_dilation=[1], temperature=1.0)
    >>> layer(np.zeros((3, 16, 1), "float32")).shape
    (3, 2)
    """

    def __init__(self, length, channels, num_classes, dilations, features_per_dilation,
                 temperature, pad_value=PAD_VALUE, **kwargs):
        super().__init__(**kwargs)
        self.length, self.channels = int(length), int(channels)
        self.num_classes = int(num_classes)
        self.dilations = [int(d) for d in dilations]
        self.features_per_dilation = [int(n) for n in features_per_dilation]
        self.temperature, self.pad_value = float(temperature), float(pad_value)
        kernels = len(KERNEL_TAPS) * len(self.dilations)
        features = len(KERNEL_TAPS) * sum(self.features_per_dilation)
        self.channel_mask = self.add_weight(shape=(kernels, self.channels), initializer="ones",
                                            trainable=False, name="channel_mask")
        self.biases = self.add_weight(shape=(features,), initializer="zeros", trainable=False,
                                      name="biases")
        self.feature_scale = self.add_weight(shape=(features,), initializer="ones",
                                             trainable=False, name="feature_scale")
        self.coef = self.add_weight(shape=(features, self.num_classes), initializer="zeros",
                                    trainable=False, name="coef")
        self.intercept = self.add_weight(shape=(self.num_classes,), initializer="zeros",
                                         trainable=False, name="intercept")

    def features(self, x):
        """MiniRocket's features `(batch, features)` of the padded, scaled series `x`, in
        aeon's order (dilation, then kernel, then bias)."""
        x = zero_padded(x, self.length, self.pad_value)
        taps = ops.convert_to_tensor(KERNEL_TAPS.T)  # (9, 84)
        kernels = len(KERNEL_TAPS)
        out, start = [], 0
        for j, (dilation, count) in enumerate(zip(self.dilations, self.features_per_dilation)):
            mask = self.channel_mask[j * kernels:(j + 1) * kernels]
            kernel = taps[:, None, :] * ops.transpose(mask)[None, :, :]  # (9, channels, 84)
            c = ops.conv(x, kernel, padding="same", dilation_rate=dilation)  # (b, time, 84)
            biases = ops.reshape(self.biases[start:start + count * kernels], (kernels, count))
            start += count * kernels
            edge = 4 * dilation
            # Half the kernels (alternating, by dilation) count every position, the other half
            # only those clear of the zero padding: each half compared once, then put back in
            # aeon's kernel order.
            whole = np.arange((j % 2), kernels, 2)
            inner = np.arange(1 - (j % 2), kernels, 2)

            def ppv(values, chosen):  # the share of positions above each bias: (b, k, count)
                above = ops.greater(ops.take(values, chosen, axis=2)[..., None],
                                    ops.take(biases, chosen, axis=0))
                return ops.mean(ops.cast(above, "float32"), axis=1)

            both = ops.concatenate([ppv(c, whole),
                                    ppv(c[:, edge:self.length - edge], inner)], axis=1)
            order = np.argsort(np.concatenate([whole, inner]))
            out.append(ops.reshape(ops.take(both, order, axis=1), (-1, count * kernels)))
        return ops.concatenate(out, axis=1)

    def call(self, x):
        scores = ops.matmul(self.features(x) * self.feature_scale, self.coef) + self.intercept
        return ops.softmax(self.temperature * scores, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "length": self.length, "channels": self.channels,
                "num_classes": self.num_classes, "dilations": self.dilations,
                "features_per_dilation": self.features_per_dilation,
                "temperature": self.temperature, "pad_value": self.pad_value}


def _two_columns(values):
    """A two-class linear model's one row of scores (positive: the second class) as one row
    per class, `-v/2` and `v/2`: the same softmax as `0` and `v`."""
    return np.concatenate([-values / 2, values / 2])


def _ridge_columns(ridge):
    """`(coef (features, classes), intercept (classes,))`: the ridge classifier's scores, one
    column per class."""
    coef, intercept = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
    if len(coef) == 1:
        coef, intercept = _two_columns(coef), _two_columns(intercept)
    return coef.T.astype("float32"), intercept.astype("float32")


def _log_loss(scores, y):
    from scipy.special import log_softmax  # with the training extras, as scikit-learn

    return float(-log_softmax(scores, axis=1)[np.arange(len(y)), y].mean())


def fit_minirocket_classifier(x, y, num_classes, pad_value=PAD_VALUE, seed=0):
    """A `MiniRocketClassifier` fitted on the training series `x` (`(n, time, channels)`,
    scaled and padded as the classifier's input) with labels `y` (indices): aeon's MiniRocket
    (10,000 features, `random_state=seed`) on the zero-padded series, scikit-learn's
    `StandardScaler(with_mean=False)` and `RidgeClassifierCV` (aeon's classifier), and the
    temperature of the lowest 5-fold cross-validated log-loss (folds stratified where every
    class has 5 series, else leave-one-out). Returns `(layer, record)`."""
    import_optional("aeon", "train", "MiniRocket in the series-classification blend")
    from aeon.transformations.collection.convolution_based import MiniRocket
    from scipy.linalg import LinAlgWarning
    from sklearn.linear_model import RidgeClassifier, RidgeClassifierCV
    from sklearn.model_selection import KFold, LeaveOneOut, StratifiedKFold, cross_val_predict
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y, dtype="int64")
    x = np.where(x == pad_value, 0.0, x).astype("float32")
    n, length, channels = x.shape
    if length < MIN_LENGTH:
        x = np.pad(x, [(0, 0), (0, MIN_LENGTH - length), (0, 0)])
        length = MIN_LENGTH
    rocket = MiniRocket(random_state=seed, n_jobs=1).fit(x.transpose(0, 2, 1))
    features = rocket.transform(x.transpose(0, 2, 1))
    scaler = StandardScaler(with_mean=False).fit(features)
    scaled = scaler.transform(features)
    counts = np.bincount(y, minlength=num_classes)
    folds = (StratifiedKFold(5, shuffle=True, random_state=seed) if counts.min() >= 5
             else KFold(min(5, n), shuffle=True, random_state=seed) if n >= 10
             else LeaveOneOut())
    with warnings.catch_warnings():  # small penalties on 10,000 features: ill-conditioned
        warnings.simplefilter("ignore", LinAlgWarning)  # solves, as in aeon's own pipeline
        warnings.filterwarnings("ignore", "Singular matrix in solving dual problem")
        ridge = RidgeClassifierCV(alphas=ALPHAS).fit(scaled, y)
        held_out = cross_val_predict(RidgeClassifier(alpha=ridge.alpha_), scaled, y,
                                     cv=folds, method="decision_function")
    if held_out.ndim == 1:
        held_out = _two_columns(held_out[None]).T
    losses = {float(t): _log_loss(t * held_out, y) for t in TEMPERATURES}
    temperature = min(losses, key=losses.get)

    channels_per_kernel, channel_indices, dilations, per_dilation, biases = rocket.parameters
    mask = np.zeros((len(channels_per_kernel), channels), "float32")
    ends = np.cumsum(channels_per_kernel)
    for k, (start, end) in enumerate(zip(ends - channels_per_kernel, ends)):
        mask[k, channel_indices[start:end]] = 1.0
    layer = MiniRocketClassifier(length, channels, num_classes, dilations.tolist(),
                                 per_dilation.tolist(), temperature, pad_value,
                                 name="minirocket_classifier")
    layer.build((None, None, channels))
    coef, intercept = _ridge_columns(ridge)
    scale = np.where(scaler.scale_ > 0, 1.0 / scaler.scale_, 0.0).astype("float32")
    for weight, value in ((layer.channel_mask, mask), (layer.biases, biases),
                          (layer.feature_scale, scale), (layer.coef, coef),
                          (layer.intercept, intercept)):
        weight.assign(value)
    return layer, {"features": int(features.shape[1]), "dilations": dilations.tolist(),
                   "ridge_alpha": float(ridge.alpha_), "temperature": temperature,
                   "cross_validated_log_loss": losses[temperature],
                   "training_series": int(n), "length": int(length)}
