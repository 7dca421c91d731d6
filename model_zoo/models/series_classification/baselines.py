"""The classical baseline of series classification here: 1-NN with Euclidean distance.

scikit-learn's `KNeighborsClassifier(n_neighbors=1)` on each series scaled per channel as the
network's input is (the fine-tuned model's `ChannelScaler`), right-padded with zeros to the
longest training series (longer series are cut to it) and flattened: on equal-length series
this is exactly the archives' 1-NN Euclidean. (The recipe also reports 1-NN DTW and MiniRocket,
which take minutes on larger sets.)
"""

import numpy as np

from model_zoo.data.labelled_series import pad_batch
from model_zoo.optional import import_optional

DESCRIPTION = "1-NN Euclidean (scikit-learn), series scaled per channel, zero-padded"


class NearestNeighbourEuclidean:
    """`fit(collection)` then `predict(collection)` -> label strings."""

    def __init__(self, scaler):
        self.scaler = scaler
        self.length = None
        self.knn = None

    def _features(self, collection):
        x = pad_batch(collection.series, self.scaler, self.length, pad_value=0.0)
        return x.reshape(len(x), -1)

    def fit(self, collection):
        import_optional("sklearn", "train", "The series-classification baseline (1-NN)")
        from sklearn.neighbors import KNeighborsClassifier

        self.length = int(np.max(collection.lengths))
        self.knn = KNeighborsClassifier(n_neighbors=1, metric="euclidean")
        self.knn.fit(self._features(collection), np.asarray(collection.labels))
        return self

    def predict(self, collection):
        return self.knn.predict(self._features(collection)).tolist()
