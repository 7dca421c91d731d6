"""One Keras model that averages the outputs of several networks: a forecast combination.

`strategy="auto"` trains several candidates on the user's data (gradual unfreezing, every
layer, random weights, the published network untrained); on small data sets their errors
differ, and the mean of their forecasts is often better than the best single one (the
forecasting literature's "combination" result: the M competitions' mean of a few methods).
`average_models` makes that mean a model of its own, so that it saves, loads, exports and
serves as any other checkpoint of the task.
"""

import keras

from model_zoo.models.copying import copy_model


def average_models(models, name="ensemble"):
    """A model whose output is the mean of `models`' outputs on the same input.

    Each network is copied (the result shares no weights with `models`) and nested under
    the name `member_<i>`, so that members built from one architecture, with the same layer
    names, sit side by side.

    Args:
        models: two or more Keras models with one input and one output each, all taking
            the same input shape and returning the same output shape.
        name: the ensemble's name.

    Returns:
        A functional `keras.Model`: `input -> mean(member_0(input), member_1(input), ...)`.

    Example:
    >>> combined = average_models([tuned_a.model, tuned_b.model])
    """
    models = list(models)
    if len(models) < 2:
        raise ValueError(f"An ensemble needs at least two models. Received: {len(models)}")
    shapes = {(tuple(m.inputs[0].shape[1:]), tuple(m.outputs[0].shape[1:])) for m in models}
    if any(len(m.inputs) != 1 or len(m.outputs) != 1 for m in models) or len(shapes) != 1:
        raise ValueError("Every member of an ensemble needs one input and one output of the "
                         "same shapes as the others. Received (input, output) shapes: "
                         f"{sorted(shapes)}")
    inputs = keras.Input(shape=models[0].inputs[0].shape[1:], name="input",
                         dtype=models[0].inputs[0].dtype)
    outputs = []
    for index, model in enumerate(models):
        clone = copy_model(model)
        member = keras.Model(clone.inputs[0], clone.outputs[0], name=f"member_{index}")
        outputs.append(member(inputs))
    return keras.Model(inputs, keras.layers.Average(name="mean")(outputs), name=name)
