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


def copy_weights(source, target, what="the source model", strict=True):
    """Sets `target`'s weights to `source`'s.

    Args:
        source: the model to copy from.
        target: the model to copy into (changed in place and returned).
        what: how errors name the source, e.g. the checkpoint's name.
        strict: `True`: both must be the same architecture. `False`: copy every layer of
            `target` that `source` has under the same name with weights of the same shapes,
            and leave the others as initialised (e.g. a model grown by one recurrent layer).

    Raises `InputError` (naming the first mismatched weight) instead of Keras's own error when
    the shapes differ, e.g. a checkpoint built with other hyperparameters, or, with
    `strict=False`, when no layer at all can be copied.

    Returns:
        `target`.

    Example:
    >>> copy_weights(model_zoo.load("asr_crnn_synthetic_en@2").model, model)
    """
    from model_zoo.errors import InputError

    if not strict:
        return _copy_matching_layers(source, target, what)
    got = [(w.path, tuple(w.shape)) for w in source.weights]
    want = [(w.path, tuple(w.shape)) for w in target.weights]
    if [s for _, s in got] != [s for _, s in want]:
        first = next(((a, b) for a, b in zip(got, want) if a[1] != b[1]), None)
        detail = (f"{first[0][0]} is {first[0][1]} there but {first[1][1]} here" if first
                  else f"{len(got)} weights there but {len(want)} here")
        raise InputError(f"Cannot start from {what}: its network differs from the one built "
                         f"({detail}). Build the model with the same hyperparameters, or "
                         f"copy only the layers that match (strict=False; with `model-zoo train`: "
                         f"--set init_partial=true). "
                         f"Received: {len(got)} weights")
    target.set_weights(source.get_weights())
    return target


def _copy_matching_layers(source, target, what):
    from model_zoo.errors import InputError

    sources = {layer.name: layer for layer in source.layers if layer.weights}
    copied = []
    for layer in target.layers:
        if not layer.weights:
            continue
        match = sources.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if match is not None and [tuple(w.shape) for w in match.weights] == shapes:
            layer.set_weights(match.get_weights())
            copied.append(layer.name)
    if not copied:
        raise InputError(f"Cannot start from {what}: none of its layers has the name and "
                         f"weight shapes of a layer of the model built. "
                         f"Received: layers {sorted(sources)}")
    return target
