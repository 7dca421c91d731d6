"""Export of tasks to SavedModel and TFLite, preprocessing inside: see `base.export_task`."""

from model_zoo.export.base import (
    FORMATS,
    QUANTIZATIONS,
    ServingGraph,
    export_task,
    exportable_tasks,
    exporter,
    saved_model_runner,
    serving_graph,
    tflite_interpreter,
    tflite_runner,
)

__all__ = ["FORMATS", "QUANTIZATIONS", "ServingGraph", "export_task", "exportable_tasks",
           "exporter", "saved_model_runner", "serving_graph", "tflite_interpreter",
           "tflite_runner"]
