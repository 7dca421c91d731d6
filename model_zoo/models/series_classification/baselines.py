"""The classical baselines of series classification here: 1-NN Euclidean and MiniRocket.

Both see each series scaled per channel as the network's input is (the fine-tuned model's
`ChannelScaler`), right-padded with zeros to the longest training series (longer series are
cut to it), as aeon's `Padder` pads: on equal-length series 1-NN is exactly the archives'
1-NN Euclidean, and MiniRocket is aeon's `MiniRocketClassifier` (its transform, a
`StandardScaler` and `RidgeClassifierCV`; shorter than its kernel of 9, padded to 9). (The
recipe also reports 1-NN DTW, which takes minutes on larger sets.)
"""

import numpy as np

from model_zoo.data.labelled_series import pad_batch
from model_zoo.optional import import_optional

DESCRIPTION = "1-NN Euclidean (scikit-learn), series scaled per channel, zero-padded"
MINIROCKET_DESCRIPTION = ("MiniRocket + ridge regression (aeon MiniRocketClassifier, seed 0), "
                          "series scaled per channel, zero-padded")


class NearestNeighbourEuclidean:
    """`fit(collection)` then `predict(collection)` -> label strings."""

    min_length = 1

    def __init__(self, scaler):
        self.scaler = scaler
        self.length = None
        self.model = None

    def _padded(self, collection):
        """`(n, length, channels)`: scaled, zero-padded or cut to the fitted length."""
        return pad_batch(collection.series, self.scaler, self.length, pad_value=0.0)

    def _features(self, collection):
        x = self._padded(collection)
        return x.reshape(len(x), -1)

    def _estimator(self):
        import_optional("sklearn", "train", "The series-classification baseline (1-NN)")
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=1, metric="euclidean")

    def fit(self, collection):
        self.length = max(int(np.max(collection.lengths)), self.min_length)
        self.model = self._estimator()
        self.model.fit(self._features(collection), np.asarray(collection.labels))
        return self

    def predict(self, collection):
        return [str(label) for label in self.model.predict(self._features(collection))]


class MiniRocket(NearestNeighbourEuclidean):
    """aeon's `MiniRocketClassifier(random_state=0)` on the same scaled, padded series."""

    min_length = 9  # MiniRocket's kernel length

    def _features(self, collection):
        return self._padded(collection).transpose(0, 2, 1)  # aeon: (n, channels, time)

    def _estimator(self):
        import_optional("aeon", "train", "The series-classification baseline (MiniRocket)")
        from aeon.classification.convolution_based import MiniRocketClassifier

        return MiniRocketClassifier(random_state=0, n_jobs=1)
