"""Series classifiers as graphs: a padded batch of raw series and their lengths -> labels."""

import numpy as np

from model_zoo.data.labelled_series import CLIP
from model_zoo.export.base import ServingGraph, exporter


@exporter("series_classification")
def series_classification_graph(task):
    """The classifier's `classify` and `predict_proba` over a batch, in TensorFlow ops.

    The input is a batch of series in their units, right-padded to one length (any padding
    value), and each series' length; the graph scales each channel with the checkpoint's
    scaler (clipped as `ChannelScaler.scale`), puts the model's masked `pad_value` after each
    length and returns the probabilities and labels.

    Args:
        task: a `SeriesClassifier`.
    """
    import tensorflow as tf

    scaler, classes = task.scaler, task.classes
    mean = tf.constant(scaler.mean, tf.float32)
    std = tf.constant(scaler.std, tf.float32)

    def classify(series, lengths):
        scaled = tf.clip_by_value((series - mean) / std, -CLIP, CLIP)
        steps = tf.range(tf.shape(series)[1])[None, :]
        mask = (steps < lengths[:, None])[..., None]
        probabilities = task.model(tf.where(mask, scaled, task.pad_value), training=False)
        index = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "class_index": index,
                "label": tf.gather(tf.constant(classes), index)}

    rng = np.random.default_rng(0)
    series = [task.scaler.mean + task.scaler.std * rng.normal(size=(n, task.channels))
              for n in (9, 15, 4)]
    padded = np.zeros((len(series), 15, task.channels), dtype="float32")
    for i, s in enumerate(series):
        padded[i, :len(s)] = s
    probabilities = task.predict_proba(series)
    return ServingGraph(
        classify,
        inputs={"series": (tf.TensorSpec([None, None, task.channels], tf.float32,
                                         name="series"),
                           f"a batch of series with {task.channels} channel(s), in their units, "
                           "right-padded to one length (the padding is ignored)"),
                "lengths": (tf.TensorSpec([None], tf.int32, name="lengths"),
                            "the length of each series (time steps before its padding)")},
        outputs={"probabilities": f"float32 [batch, {len(classes)}]: class probabilities, "
                                  f"columns in the order of `label`'s classes {classes}",
                 "class_index": "int32 [batch]: the most probable class's column",
                 "label": "string [batch]: the most probable class"},
        example={"series": padded, "lengths": np.array([len(s) for s in series], "int32")},
        expected={"probabilities": probabilities,
                  "label": np.array([classes[i] for i in probabilities.argmax(1)])},
        tolerance={"probabilities": 1e-4})
