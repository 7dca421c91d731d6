"""In-memory arrays as tf.data pipelines (the series recipes' common input stage)."""


def array_dataset(x, y, batch_size, shuffle=False, seed=0):
    """Batches of `(x, y)` from in-memory arrays, reshuffled every epoch when `shuffle`.

    Args:
        x, y: arrays (or nested structures of arrays) with the same first dimension.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: draw a new order every epoch, reproducible from `seed`.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(int(ds.cardinality()), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
