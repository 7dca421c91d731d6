"""Exceptions raised by model_zoo.

Every error says what was wrong and what was expected, and ends with `Received: ...` (the
keras-hub convention), so a user can fix their input without reading a traceback.
"""


class ModelZooError(Exception):
    """Base class of every error model_zoo raises on purpose."""


class InputError(ModelZooError, ValueError):
    """The user's input (data, file, argument) is not what was expected."""


class UnknownModelError(ModelZooError, KeyError):
    """No checkpoint or recipe is registered under that name."""

    def __str__(self):  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class IntegrityError(ModelZooError):
    """A checkpoint file is missing, truncated or does not hash to its recorded sha256."""


class OfflineError(ModelZooError):
    """`MODEL_ZOO_OFFLINE=1` is set and the checkpoint is not in the local cache."""


class MissingDependencyError(ModelZooError, ImportError):
    """An optional package (one of an extra's, see pyproject.toml) is needed and not installed.

    Raised by `model_zoo.optional.import_optional`; the message names the package, what needs
    it and the extra to install.
    """
