from model_zoo.models.anomaly.lstm_autoencoder import build_lstm_autoencoder

__all__ = ["build_lstm_autoencoder"]
