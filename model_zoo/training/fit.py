"""Training defaults shared by the recipes and by fine-tuning."""

import contextlib
import contextvars
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
    stopping = early_stopping(val, patience, epochs, monitor)
    return fit_model(model, train, val, epochs=epochs, callbacks=callbacks,
                     early_stopping=stopping, verbose=verbose)


def early_stopping(val, patience, epochs=None, monitor="val_loss"):
    """Keras's `EarlyStopping` restoring the best weights, or None (no validation set, no
    patience, or a patience the epochs cannot reach)."""
    if val is None or not patience or (epochs is not None and patience >= epochs):
        return None
    return keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                         restore_best_weights=True)


_BLOCK_CALLBACKS = contextvars.ContextVar("model_zoo_training_callbacks", default=())


@contextlib.contextmanager
def training_callbacks(callbacks):
    """`with training_callbacks([backup]):` every `fit_model` in the block (so every training
    of the zoo: recipes, strategies, each task's `finetune`) also gets `callbacks`.

    `model_zoo.finetune(..., out=...)` backs a fine-tune up this way, whichever strategies
    and stages the task's `finetune` runs; callers that build the `model.fit` calls
    themselves pass callbacks directly instead.
    """
    token = _BLOCK_CALLBACKS.set((*_BLOCK_CALLBACKS.get(), *callbacks))
    try:
        yield
    finally:
        _BLOCK_CALLBACKS.reset(token)


def fit_model(model, train, val, *, epochs, callbacks=(), early_stopping=None, verbose=2):
    """`model.fit` of a compiled model, as every training in the zoo calls it.

    `callbacks` are added to those of an enclosing `training_callbacks` block. If they hold a
    run's `RunBackup` (`model_zoo.training.backup`), this fit is the next
    stage of that run: after a kill it continues from the stage's backup, with the training
    set's shuffles advanced by the epochs already done, and returns the whole stage's history.
    The early stopping comes first among the callbacks and the backup last, so that a backup
    holds the early stopping's state of that epoch and a finished stage its restored weights.
    """
    from model_zoo.training.backup import advance_shuffles, find_backup

    callbacks = [*callbacks, *_BLOCK_CALLBACKS.get()]
    backup = find_backup(callbacks)
    ordered = [early_stopping] if early_stopping is not None else []
    ordered += [c for c in callbacks if c is not backup]
    if backup is not None:
        ordered.append(backup)
        advance_shuffles(train, backup.begin_stage(epochs, early_stopping))
    history = model.fit(train, validation_data=val, epochs=epochs, callbacks=ordered,
                        verbose=verbose, shuffle=False)  # The tf.data pipeline shuffles.
    return backup.history() if backup is not None else history


def finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None
