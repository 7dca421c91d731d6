"""Compiling the small step functions of decoders and samplers, and the forward passes of the
task verbs, for the active Keras backend."""

import keras


def compile_function(fn, variables, input_signature=None):
    """Compiles `fn` for the current backend (tf.function, jax.jit; torch: eager, no_grad).

    Used for one-step functions called many times (a decoder step, a sampling step, a scoring
    pass): compiled once, they run without Python overhead per call on TensorFlow and JAX.

    Args:
        fn: the function; it reads the weights of the layers it calls.
        variables: every Keras variable `fn` reads (`model.variables`). TensorFlow and torch
            read variables when the function runs; `jax.jit` would bake their values in at
            the first call, so under JAX they are passed in as arguments (through a
            `keras.StatelessScope`) and later weight updates, by training or `set_weights`,
            are seen.
        input_signature: TensorFlow only: the `tf.TensorSpec`s of `fn`'s arguments, so that
            it is traced once for every shape they allow (default: traced per shape, relaxed
            after a few).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if input_signature is not None:
            return tf.function(fn, input_signature=input_signature, autograph=False)
        return tf.function(fn, reduce_retracing=True)
    if backend == "jax":
        import jax

        variables = list(variables)

        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn(*args)

        jitted = jax.jit(stateless)

        def run(*args):
            return jitted([v.value for v in variables], *args)

        return run
    import torch  # torch runs eagerly; no gradients are needed to decode, sample or score.

    def run(*args):
        with torch.no_grad():
            return fn(*args)

    return run


def inference_function(model):
    """`model(x, training=False)` compiled (`compile_function`), once per model object.

    The task verbs call their network through this. On TensorFlow an eager call of a
    recurrent model runs its time loop op by op: 30 to 100 times slower than the traced graph
    (a forecaster: 240 ms against 1.9 ms a call on this CPU; the BiLSTM-CRF tagger 140 ms
    against 5 ms). Tracing costs one to seven eager calls (the tagger's CRF: 1.1 s), once per
    model, for every batch and length its input allows. (Eager for the first call only would
    spare a one-off call that, but the same input would then get answers that differ in the
    last digits between the first call and the next.) The function is kept on the model, so
    every task object sharing the model shares it; it reads the weights when it runs, so
    training and `set_weights` are seen.

    Example:
    >>> probabilities = inference_function(model)(x)
    """
    compiled = getattr(model, "_model_zoo_inference", None)
    if compiled is None:
        def forward(x):
            return model(x, training=False)

        compiled = compile_function(forward, model.variables, _input_signature(model))
        # Not a tracked attribute (Keras's __setattr__ tracks layers and variables).
        object.__setattr__(model, "_model_zoo_inference", compiled)
    return compiled


def _input_signature(model):
    """The signature of a functional model's one input (a tensor or a dict of tensors) with
    its free dimensions (batch, time) left free, so that one trace serves every batch; None
    for other models (they are traced per shape) and other backends."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    try:
        inputs = model.input
    except (AttributeError, ValueError):  # A subclassed model has no symbolic input.
        return None
    if isinstance(inputs, (list, tuple)):
        return None
    return [tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), inputs)]
