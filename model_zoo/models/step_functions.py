"""Compiling the small step functions of decoders and samplers for the active Keras backend."""

import keras


def compile_function(fn):
    """Compiles `fn` for the current backend (tf.function, jax.jit; torch: eager, no_grad).

    Used for one-step functions called many times (a decoder step, a sampling step): compiled
    once, they run without Python overhead per call on TensorFlow and JAX.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    import torch  # torch runs eagerly; no gradients are needed to decode, sample or score.

    def run(*args):
        with torch.no_grad():
            return fn(*args)

    return run
