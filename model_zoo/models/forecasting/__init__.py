from model_zoo.models.forecasting.lstm_forecaster import (
    Denormalize,
    SeasonalNaive,
    WindowNormalization,
    build_lstm_forecaster,
)

__all__ = ["Denormalize", "SeasonalNaive", "WindowNormalization", "build_lstm_forecaster"]
