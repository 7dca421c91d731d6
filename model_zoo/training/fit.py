"""Training defaults shared by the recipes and by fine-tuning."""

import math

import keras


def cosine_with_warmup(learning_rate, total_steps, warmup_steps=0):
    """Linear warm-up, then cosine decay to 1% of `learning_rate`."""
    total_steps = max(int(total_steps), 1)
    warmup_steps = min(int(warmup_steps), total_steps - 1) if total_steps > 1 else 0
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 100 if warmup_steps else learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=0.01,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def default_optimizer(learning_rate, steps_per_epoch, epochs, clipnorm=1.0, warmup_epochs=0,
                      weight_decay=None):
    """Adam(W) with warm-up plus cosine decay and gradient-norm clipping."""
    total = steps_per_epoch * epochs
    schedule = cosine_with_warmup(learning_rate, total, warmup_epochs * steps_per_epoch)
    if weight_decay:
        return keras.optimizers.AdamW(schedule, weight_decay=weight_decay, clipnorm=clipnorm)
    return keras.optimizers.Adam(schedule, clipnorm=clipnorm)


def steps_in(dataset):
    n = int(dataset.cardinality())
    return n if n > 0 else 1


def fit(model, train, val, loss, *, epochs, learning_rate=1e-3, clipnorm=1.0, patience=10,
        metrics=None, callbacks=(), monitor="val_loss", warmup_epochs=0, verbose=2,
        weight_decay=None):
    """Compiles and fits `model` with the zoo's defaults; restores the best validation weights.

    Returns:
        The Keras `History`.
    """
    optimizer = default_optimizer(learning_rate, steps_in(train), epochs, clipnorm,
                                  warmup_epochs, weight_decay)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics or [])
    cbs = list(callbacks)
    if val is not None and patience and patience < epochs:
        cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                 restore_best_weights=True))
    return model.fit(train, validation_data=val, epochs=epochs, callbacks=cbs, verbose=verbose,
                     shuffle=False)  # The tf.data pipeline shuffles.


def finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None
