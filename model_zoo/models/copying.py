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
