"""Compiling the small step functions of decoders and samplers for the active Keras backend."""

import keras


def compile_function(fn, variables):
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
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

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
