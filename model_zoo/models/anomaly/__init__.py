"""The LSTM autoencoder and how a series is standardised for it (`normalization`, which needs
no Keras: the command line reads its modes without importing TensorFlow)."""

__all__ = ["build_lstm_autoencoder"]


def __getattr__(name):
    if name == "build_lstm_autoencoder":
        from model_zoo.models.anomaly.lstm_autoencoder import build_lstm_autoencoder

        return build_lstm_autoencoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
