"""Data-parallel training with tf.distribute: `model-zoo train RECIPE --distribute mirrored`.

`mirrored` is `tf.distribute.MirroredStrategy` over every local device (several GPUs of one
machine): the model is built and compiled under its scope, each global batch (the recipe's
`batch_size`, unchanged) is split across the replicas, and the gradients are summed across
them before each step. With one device it is still the strategy's code path, one replica.
`MODEL_ZOO_CPU_DEVICES=N` splits the CPU into N logical devices first, so the data-parallel
path can be exercised (and tested) on a machine without GPUs; it does not make a CPU faster.

`multiworker` (`tf.distribute.MultiWorkerMirroredStrategy`, several machines from `TF_CONFIG`)
is refused: Keras 3's `fit` fails under it in TensorFlow 2.16 to 2.21 (it MEAN-reduces a
per-replica data batch while building the model, then reduces scalar metrics along axis 0;
keras-team/keras#20585, tensorflow/tensorflow#72388, open), and working around it would mean
patching Keras's trainer. Under the JAX backend the equivalent would be
`keras.distribution.DataParallel`; the recipes' input pipelines are tf.data and the CLI trains
under TensorFlow, so it is not wired either.
"""

import os

from model_zoo.errors import InputError

STRATEGIES = ("mirrored", "multiworker")
CPU_DEVICES_VARIABLE = "MODEL_ZOO_CPU_DEVICES"


def check_strategy_name(name):
    """`name` if it is a strategy this version can train with, else one clear InputError."""
    if name is None:
        return None
    if name not in STRATEGIES:
        raise InputError(f"`--distribute` must be one of {list(STRATEGIES)}. "
                         f"Received: {name!r}")
    if name == "multiworker":
        raise InputError(
            "Multi-worker training is not available: Keras 3's fit fails under "
            "tf.distribute.MultiWorkerMirroredStrategy with TensorFlow 2.16-2.21 "
            "(keras-team/keras#20585). Use --distribute mirrored for the devices of one "
            "machine. Received: --distribute multiworker")
    return name


def _cpu_devices():
    """The logical CPU device count `MODEL_ZOO_CPU_DEVICES` asks for (None: unset)."""
    value = os.environ.get(CPU_DEVICES_VARIABLE)
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise InputError(f"{CPU_DEVICES_VARIABLE} must be a positive integer (logical CPU "
                         f"devices). Received: {value!r}")
    return count


def split_cpu():
    """Splits the CPU into `MODEL_ZOO_CPU_DEVICES` logical devices, if set. TensorFlow allows
    it only before it initialises its devices, so this module does it when imported (the
    runner imports it before any model is built)."""
    count = _cpu_devices()
    if count is None:
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError:
        pass  # Already initialised: `make_strategy` says so if the count differs.


def make_strategy(name):
    """The tf.distribute strategy called `name` (None: None, the default strategy)."""
    if check_strategy_name(name) is None:
        return None
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    wanted = _cpu_devices()
    if not gpus and wanted is not None and len(devices) != wanted:
        raise InputError(
            f"{CPU_DEVICES_VARIABLE}={wanted} could not be applied: TensorFlow had started "
            f"its devices before (set it before the process imports TensorFlow). "
            f"Received: {len(devices)} logical CPU device(s)")
    return tf.distribute.MirroredStrategy(devices)


def off_strategy(model):
    """A copy of a model trained under a strategy, made outside it: the same layers and
    weights on the default device, for evaluation, saving and serving (Keras runs a model
    built in a strategy's scope replica by replica, also for `predict` on one example)."""
    from model_zoo.models.copying import copy_model

    return copy_model(model)


def describe(strategy, name):
    """What the run's metadata records about how it was distributed."""
    import keras

    return {"strategy": name, "replicas": int(strategy.num_replicas_in_sync),
            "backend": keras.backend.backend(),
            "devices": list(strategy.extended.worker_devices)}


split_cpu()
