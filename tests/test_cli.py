"""Every `model-zoo` command, run in-process through `main(argv)`, and its error handling."""

import json
import os
import re
import subprocess
import sys

import pytest

from model_zoo.cli import main
from series_data import seasonal_series

SMOKE = ["--set", "dataset=airline", "--set", "units=8", "--set", "depth=1",
         "--set", "baselines=false", "--set", "pretrain_epochs=1",
         "--set", "pretrain_max_windows=128"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A tiny airline forecaster published into a private registry folder."""
    root = tmp_path_factory.mktemp("cli_registry")
    runs = tmp_path_factory.mktemp("cli_runs")
    code = main(["train", "forecasting", *SMOKE, "--epochs", "1", "--publish",
                 "--registry-dir", str(root), "--run-dir", str(runs / "r"), "--quiet"])
    assert code == 0
    return str(root)


@pytest.fixture
def registry(published, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_REGISTRY", published)
    return published


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_recipes(capsys):
    from model_zoo.training.recipe import discover_recipes

    code, out, _ = run(capsys, "recipes")
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert code == 0 and listed == sorted(discover_recipes()) and "forecasting" in listed


def test_list_and_info(capsys, registry):
    code, out, _ = run(capsys, "list", "forecast_lstm_airline")
    assert code == 0 and "forecast_lstm_airline  v1  forecasting" in out and "mase=" in out
    code, out, _ = run(capsys, "list", "--task", "no_such_task")
    assert code == 0 and "No checkpoints match" in out
    code, out, _ = run(capsys, "list", "--json", "forecast_lstm_airline")
    assert json.loads(out)[0]["name"] == "forecast_lstm_airline"
    code, out, _ = run(capsys, "info", "forecast_lstm_airline@1")
    info = json.loads(out)
    assert info["dataset"]["split"]["test"] == [120, 144] and info["params"] > 0


def test_list_shows_a_headline_metric_for_every_published_checkpoint(capsys):
    from model_zoo.registry import default_registry

    code, out, _ = run(capsys, "list")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(default_registry().list())
    for line in lines:
        assert re.search(r"params  \w+=[\d.]+$", line), line
    assert any("roc_auc=" in line for line in lines if line.startswith("anomaly_"))


def test_train_then_publish_the_run(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "forecasting", *SMOKE, "--epochs", "1", "--quiet",
                       "--run-dir", str(tmp_path / "run"))
    assert code == 0 and "checkpoint:" in out
    assert json.loads(out[out.index("{"):])["test"]["mase"] > 0
    assert os.path.isfile(tmp_path / "run" / "checkpoint" / "model.keras")
    registry = tmp_path / "registry"
    code, out, _ = run(capsys, "publish", str(tmp_path / "run"), "--registry-dir",
                       str(registry))
    assert code == 0 and "published:" in out
    meta = json.loads((registry / "forecast_lstm_airline" / "metadata.json").read_text())
    assert meta["command"].endswith("--publish") and meta["version"] == 1
    code, _, err = run(capsys, "publish", str(tmp_path), "--registry-dir", str(registry))
    assert code == 2 and "holds no finished run" in err


def test_evaluate_matches_registry(capsys, registry):
    code, out, _ = run(capsys, "evaluate", "forecast_lstm_airline")
    assert code == 0 and "matches the registry" in out and "mase" in out
    code, out, _ = run(capsys, "evaluate", "forecast_lstm_airline", "--sample")
    assert code == 0 and "matches the registry" in out


def test_predict_and_finetune(capsys, registry, tmp_path):
    csv = tmp_path / "series.csv"
    values = seasonal_series(120) + 400
    csv.write_text("month,passengers\n" + "".join(f"{i},{v:.3f}\n" for i, v in enumerate(values)))
    code, out, _ = run(capsys, "predict", "forecast_lstm_airline", "--csv", str(csv),
                       "--column", "passengers", "--horizon", "5")
    assert code == 0
    result = json.loads(out)
    assert len(result["forecast"]) == 5 and result["history"] == 120
    out_dir = tmp_path / "mine"
    code, out, _ = run(capsys, "finetune", "forecast_lstm_airline", "--csv", str(csv),
                       "--column", "passengers", "--out", str(out_dir), "--epochs", "2")
    assert code == 0 and "fine-tuned checkpoint" in out
    code, out, _ = run(capsys, "predict", str(out_dir), "--csv", str(csv), "--column",
                       "passengers")
    assert code == 0 and len(json.loads(out)["forecast"]) == 12
    code, out, _ = run(capsys, "info", str(out_dir))
    meta = json.loads(out)
    assert meta["command"].startswith("model-zoo finetune forecast_lstm_airline --csv")
    assert meta["name"] == "forecast_lstm_airline_finetuned"
    code, _, err = run(capsys, "evaluate", str(out_dir))
    assert code == 2 and "no test metrics recorded by a recipe" in err
    scratch_dir = tmp_path / "scratch"
    code, out, _ = run(capsys, "finetune", "forecast_lstm_airline", "--csv", str(csv),
                       "--column", "passengers", "--out", str(scratch_dir), "--epochs", "1",
                       "--from-scratch")
    assert code == 0 and json.loads(out[out.index("{"):])["init"] == "random"
    code, out, _ = run(capsys, "info", str(scratch_dir))
    meta = json.loads(out)
    assert meta["metrics"]["finetune"]["init"] == "random" and "init:random" in meta["tags"]
    assert meta["command"].endswith("--from-scratch")


@pytest.mark.parametrize("command", ["predict", "finetune"])
def test_help_without_a_model_name(command):
    code = ("import sys\nfrom model_zoo.cli import main\n"
            f"code = main([{command!r}, '--help'])\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"model-zoo {command} NAME --help" in out.stdout  # where a task's arguments are
    assert ("--from-scratch" in out.stdout) == (command == "finetune")
    assert ("--out" in out.stdout) == (command == "finetune")


# Runs each argv through `main` in one fresh interpreter and reports, per argv, the exit code,
# whether TensorFlow or Keras got imported, and the start of what was printed.
_COLD_START = """
import contextlib, io, json, sys
from model_zoo.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    results.append({"argv": argv, "code": code, "heavy": heavy, "out": out.getvalue()[:2000]})
json.dump(results, sys.__stdout__)
"""


def test_help_version_list_info_import_no_tensorflow():
    """`--help`, `--version`, `list`, `info` and every command's `--help` (a task's own, for a
    checkpoint of every task, too) answer without importing TensorFlow: in well under a second
    rather than the seconds TensorFlow takes to import."""
    from model_zoo.cli import build_parser, task_commands
    from model_zoo.registry import default_registry

    parser = build_parser(task_commands())
    commands = next(a for a in parser._actions if a.dest == "command").choices
    one_per_task = {}
    for entry in default_registry().list():
        one_per_task.setdefault(entry.metadata.task, entry.metadata.name)
    argvs = [["--help"], ["--version"], ["list"], ["info", "forecast_lstm_co2"],
             *([command, "--help"] for command in commands),
             *([verb, name, "--help"] for name in one_per_task.values()
               for verb in ("predict", "finetune"))]
    out = subprocess.run([sys.executable, "-c", _COLD_START, json.dumps(argvs)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert len(results) == len(argvs) and len(one_per_task) >= 8
    for result in results:
        assert result["code"] in (0, None), result
        assert result["heavy"] == [], result
        assert result["out"].strip(), result  # it printed its help, version or listing
    task_helps = {r["argv"][1]: r["out"] for r in results if r["argv"][0] == "predict"
                  and len(r["argv"]) == 3}
    assert "--csv" in task_helps[one_per_task["forecasting"]]  # the task's own arguments
    assert all(text.count("--") >= 2 for text in task_helps.values()), task_helps  # not only -h


def test_every_option_of_every_command_has_help_text():
    import argparse

    from model_zoo.cli import _finetune_options, build_parser, task_commands
    from model_zoo.tasks.cli_arguments import TASK_ARGUMENTS

    def undocumented(parser, where):
        out = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out += undocumented(sub, f"{where} {name}")
            elif not action.help and not isinstance(action, argparse._HelpAction):
                out.append(f"{where}: {'/'.join(action.option_strings) or action.dest}")
        return out

    missing = undocumented(build_parser(task_commands()), "model-zoo")
    for task, add in [*TASK_ARGUMENTS.items(), ("every task's finetune", _finetune_options)]:
        parser = argparse.ArgumentParser()
        add(parser)
        missing += undocumented(parser, task)
    assert missing == []


def test_task_arguments_cover_every_task_and_verbs_resolve():
    import importlib

    from model_zoo.tasks.base import registered_tasks
    from model_zoo.tasks.cli_arguments import TASK_ARGUMENTS, VERBS

    assert set(TASK_ARGUMENTS) == set(registered_tasks())
    for verb, (_, _, target) in VERBS.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), verb


def test_cudnn(capsys, registry):
    code, out, _ = run(capsys, "cudnn", "forecast_lstm_airline")
    assert code == 0 and "tensorflow: yes  jax: yes  torch: yes" in out


def test_tune(capsys, tmp_path):
    code, out, _ = run(capsys, "tune", "forecasting", *SMOKE, "--max-trials", "1",
                       "--epochs", "1", "--directory", str(tmp_path))
    assert code == 0 and "best trials:" in out and "1. trial" in out


def test_errors_are_one_line(capsys, registry, tmp_path):
    code, _, err = run(capsys, "info", "forecast_lstm_airlin")
    assert code == 2 and "Did you mean 'forecast_lstm_airline'" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "predict", "forecast_lstm_airline", "--csv",
                       str(tmp_path / "none.csv"), "--column", "y")
    assert code == 2 and "No such CSV file" in err
    code, _, err = run(capsys, "train", "forecasting", "--set", "nonsense")
    assert code == 2 and "--set takes key=value" in err
    code, _, err = run(capsys, "train", "nope")
    assert code == 2 and "No recipe named `nope`" in err
    with pytest.raises(SystemExit):  # argparse: missing required task argument
        main(["predict", "forecast_lstm_airline", "--column", "y"])


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "model_zoo.cli", "--version"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("model_zoo ")


def test_export_writes_a_savedmodel_that_answers_like_the_verb(capsys, tmp_path):
    import numpy as np
    import tensorflow as tf

    import model_zoo

    out = tmp_path / "airline"
    assert main(["export", "forecast_lstm_airline", "--out", str(out), "--horizon", "15",
                 "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["parent"]["name"] == "forecast_lstm_airline@1" and card["options"] == {
        "horizon": 15}
    task = model_zoo.load("forecast_lstm_airline")
    history = 300 + 50 * np.sin(np.arange(task.history_needed) / 2.0)
    serve = tf.saved_model.load(str(out)).signatures["serving_default"]
    got = serve(history=tf.constant(history[None], tf.float32))["forecast"].numpy()[0]
    np.testing.assert_allclose(got, task.forecast(history, horizon=15), rtol=1e-4)
    assert main(["export", "forecast_lstm_airline", "--out", str(out), "--overwrite"]) == 0
    assert "exported forecast_lstm_airline@1 (forecasting): the SavedModel" in \
        capsys.readouterr().out
