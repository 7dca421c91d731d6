"""Copying a Keras model with its weights (fine-tuning trains the copy, never the original)."""

import keras


def copy_model(model):
    """The same network and weights as a new, uncompiled model (no optimizer state).

    Example:
    >>> tuned = copy_model(published.model)   # train `tuned`; `published` stays as it was
    """
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def copy_weights(source, target, what="the source model"):
    """Sets `target`'s weights to `source`'s; both must be the same architecture.

    Raises `InputError` (naming the first mismatched weight) instead of Keras's own error when
    the shapes differ, e.g. a checkpoint built with other hyperparameters.

    Example:
    >>> copy_weights(model_zoo.load("asr_crnn_synthetic_en@2").model, model)
    """
    from model_zoo.errors import InputError

    got = [(w.path, tuple(w.shape)) for w in source.weights]
    want = [(w.path, tuple(w.shape)) for w in target.weights]
    if [s for _, s in got] != [s for _, s in want]:
        first = next(((a, b) for a, b in zip(got, want) if a[1] != b[1]), None)
        detail = (f"{first[0][0]} is {first[0][1]} there but {first[1][1]} here" if first
                  else f"{len(got)} weights there but {len(want)} here")
        raise InputError(f"Cannot start from {what}: its network differs from the one built "
                         f"({detail}). Build the model with the same hyperparameters. "
                         f"Received: {len(got)} weights")
    target.set_weights(source.get_weights())
    return target
