"""Optimiser pieces for fine-tuning: per-layer learning rates and the slanted triangular schedule.

Keras 3 has neither. Both are written with keras.ops and registered, so they work and save on
every backend.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="model_zoo")
class SlantedTriangular(keras.optimizers.schedules.LearningRateSchedule):
    """Slanted triangular learning rate (Howard & Ruder, 2018, eq. 3).

    Rises linearly for `cut_frac` of the steps from `max_lr / ratio` to `max_lr`, then decays
    linearly back to `max_lr / ratio`.

    Args:
        max_lr: the peak learning rate.
        total_steps: number of optimiser steps of the whole schedule.
        cut_frac: fraction of steps spent rising.
        ratio: how much smaller the lowest learning rate is than the peak.
    """

    def __init__(self, max_lr, total_steps, cut_frac=0.1, ratio=32.0):
        self.max_lr = float(max_lr)
        self.total_steps = max(int(total_steps), 1)
        self.cut_frac = float(cut_frac)
        self.ratio = float(ratio)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        cut = max(self.total_steps * self.cut_frac, 1.0)
        p = ops.where(step < cut, step / cut,
                      1.0 - (step - cut) / max(cut * (1.0 / self.cut_frac - 1.0), 1.0))
        p = ops.clip(p, 0.0, 1.0)
        return self.max_lr * (1.0 + p * (self.ratio - 1.0)) / self.ratio

    def get_config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps,
                "cut_frac": self.cut_frac, "ratio": self.ratio}


@keras.saving.register_keras_serializable(package="model_zoo")
class DiscriminativeAdam(keras.optimizers.Adam):
    """Adam with a learning-rate multiplier per top-level layer (discriminative fine-tuning).

    A variable whose path starts with `<layer name>/` is updated with
    `learning_rate * multipliers[layer name]` (1.0 for layers not listed). Scaling gradients
    would not do this: Adam's update is invariant to the gradient's scale.

    Args:
        multipliers: `{layer name: factor}`.
        **kwargs: as for `keras.optimizers.Adam`.
    """

    def __init__(self, multipliers=None, **kwargs):
        super().__init__(**kwargs)
        self.multipliers = {str(k): float(v) for k, v in (multipliers or {}).items()}

    def _factor(self, variable):
        path = getattr(variable, "path", "") or ""
        return self.multipliers.get(path.split("/", 1)[0], 1.0)

    def update_step(self, gradient, variable, learning_rate):
        factor = self._factor(variable)
        if factor != 1.0:
            learning_rate = ops.cast(learning_rate, variable.dtype) * factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "multipliers": self.multipliers}
