"""The model card (README.md) of every published checkpoint: YAML front matter in the model-hub
form that agrees with the metadata, the intended use and limitations, and one plain sentence
where a classical baseline of the run beats the model. Parametrised over the registry, so a new
checkpoint gets these tests for free; a fine-tuned checkpoint's card is tested on a tiny one."""

import copy
import json
import math
import os

import pytest

from model_zoo.checkpoint import (baseline_beats_model, fill_card_notes, model_card,
                                  refresh_card, yaml_lines)
from model_zoo.registry import CheckpointMetadata, default_registry, verify_files

ENTRIES = [e for name in default_registry().names()
           for e in default_registry()._entries[name].values()]
IDS = [e.metadata.full_name for e in ENTRIES]
BEATS = "beats this model on"


def _card(directory):
    with open(os.path.join(directory, "README.md"), encoding="utf-8") as f:
        return f.read()


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def parse_yaml(text):
    """The block-style YAML subset the cards write (mappings, `- ` lists, JSON scalars), parsed
    without PyYAML (which the project does not depend on)."""
    lines = [line for line in text.splitlines() if line.strip()]

    def parse(i, indent):
        if lines[i].lstrip().startswith("- "):
            out = []
            while i < len(lines) and _indent(lines[i]) == indent and \
                    lines[i].lstrip().startswith("- "):
                rest = lines[i][indent + 2:]
                if rest.startswith(('"', "[", "{")) or ":" not in rest:
                    out.append(json.loads(rest))
                    i += 1
                else:  # A mapping as a list item: its keys sit two columns in.
                    lines[i] = " " * (indent + 2) + rest
                    value, i = parse(i, indent + 2)
                    out.append(value)
            return out, i
        out = {}
        while i < len(lines) and _indent(lines[i]) == indent and \
                not lines[i].lstrip().startswith("- "):
            key, _, rest = lines[i].strip().partition(":")
            i += 1
            if rest.strip():
                out[key] = json.loads(rest.strip())
            else:
                out[key], i = parse(i, _indent(lines[i]))
        return out, i

    return parse(0, 0)[0]


def front_matter_of(card):
    assert card.startswith("---\n"), "the card does not start with YAML front matter"
    text = card[4:card.index("\n---\n", 4)]
    parsed = parse_yaml(text)
    try:
        import yaml
    except ImportError:
        pass
    else:
        assert yaml.safe_load(text) == parsed
    return parsed


def test_yaml_subset_round_trips_awkward_strings():
    data = {"a": ["x: y", "- z", "\"quoted\" and 'single'", "#not a comment", "ü", ""],
            "model-index": [{"name": "n", "results": [{"task": {"type": "t"},
                                                       "metrics": [{"type": "m", "value": 0.5},
                                                                   {"type": "k", "value": 3}]}]}],
            "empty": [], "none": {}, "flag": True}
    assert parse_yaml("\n".join(yaml_lines(data))) == data


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_card_is_the_one_its_metadata_generates(entry):
    assert _card(entry.directory) == model_card(entry.metadata), (
        "stale card: run `python scripts/refresh_model_cards.py`")


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_front_matter_parses_and_matches_the_metadata(entry):
    m = entry.metadata
    fm = front_matter_of(_card(entry.directory))
    assert fm["license"] == m.license.lower() and fm["library_name"] == "keras"
    assert {m.task, m.architecture, "model_zoo", *m.tags} <= set(fm["tags"])
    assert fm["datasets"] == [m.dataset["name"]]
    scores = {k: v for k, v in m.metrics["test"].items()
              if isinstance(v, float) and math.isfinite(v)}
    (index,) = fm["model-index"]
    (result,) = index["results"]
    assert index["name"] == m.name and result["task"]["type"] == m.task
    assert result["dataset"]["name"] == m.dataset["name"]
    reported = {row["type"]: row["value"] for row in result["metrics"]}
    assert set(fm["metrics"]) == set(reported) and reported
    for name, value in reported.items():  # Every score is the metadata's, exactly.
        assert m.metrics["test"][name] == value
    assert set(scores) - set(reported) <= {"alpha"}  # only decoding settings are left out


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_intended_use_and_limitations_for_every_checkpoint(entry):
    m = entry.metadata
    assert m.intended_use and m.limitations, (
        "no card notes: run `python scripts/refresh_model_cards.py`")
    card = _card(entry.directory)
    section = card.split("## Intended use and limitations\n", 1)[1].split("\n## ", 1)[0]
    assert m.intended_use in section
    for note in m.limitations:
        assert f"- {note}" in section
        assert "{" not in note and "}" not in note  # every template was filled in


def _winner(m):
    """The baseline that beats the model on the task's deciding metric, from the metadata and
    the task's own declaration of that metric and its direction."""
    from model_zoo.tasks.base import task_class

    cls = task_class(m.task)
    test, rows = m.metrics.get("test", {}), m.metrics.get("baselines", {})
    metric = cls.__dict__.get("comparison_metric") or getattr(cls, "comparison_metric", None)
    if not rows or metric is None:
        return None
    if not isinstance(metric, str):  # depends on the model: the score every baseline has
        metric = next(k for k, v in test.items()
                      if isinstance(v, float) and all(k in r for r in rows.values()))
    sign = 1 if cls.comparison_higher_is_better else -1
    better = {n: r[metric] for n, r in rows.items()
              if isinstance(r.get(metric), float) and sign * r[metric] > sign * test[metric]}
    return max(better, key=lambda n: sign * better[n]) if better else None


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_baseline_sentence_exactly_where_a_baseline_wins(entry):
    m = entry.metadata
    card = _card(entry.directory)
    winner = _winner(m)
    if winner is None:
        assert BEATS not in card and baseline_beats_model(m) is None
        return
    assert card.count(BEATS) == 1
    assert f"The classical baseline {winner} " in card
    assert "for this data it is the better choice today" in card
    found = baseline_beats_model(m)
    assert found["baseline"] == winner
    if not found["higher_is_better"]:
        assert "lower is better" in card


def test_direction_lower_is_better_is_respected():
    meta = CheckpointMetadata(
        name="forecast_lstm_x", version=1, task="forecasting", architecture="lstm",
        metrics={"test": {"mase": 0.9}, "baselines": {"naive": {"mase": 1.2},
                                                      "ets": {"mase": 0.8, "model": "ETS"}}})
    card = model_card(meta)
    assert ("The classical baseline ets (ETS) beats this model on mase (0.8 vs 0.9, lower is "
            "better)") in card
    meta.metrics["baselines"]["ets"]["mase"] = 1.0
    assert BEATS not in model_card(meta)


def test_notes_templates_fill_from_the_run_and_drop_what_it_lacks():
    notes = {"intended_use": "Forecasts {config[horizon]} steps.",
             "limitations": ["MASE {test[mase]:.2f}.", "CER {test[cer]:.1%}."],
             "datasets": {"co2": {"limitations": ["Interpolated."]}}}
    filled = fill_card_notes(notes, {"dataset": "co2", "horizon": 52}, {"test": {"mase": 0.7}})
    assert filled == {"intended_use": "Forecasts 52 steps.",
                      "limitations": ["MASE 0.70.", "Interpolated."]}
    assert fill_card_notes(None, {}, {}) == {"intended_use": "", "limitations": []}


def test_finetuned_card_names_parent_data_metrics_and_loads(tiny_forecaster_dir, tmp_path):
    import shutil

    import numpy as np
    from series_data import seasonal_series

    import model_zoo

    parent_dir = str(tmp_path / "forecast_lstm_tiny")
    shutil.copytree(tiny_forecaster_dir, parent_dir)
    parent = CheckpointMetadata.load(parent_dir)
    parent.intended_use, parent.limitations = "Forecasting tiny series.", ["Untrained."]
    parent.dataset = {"name": "tiny", "source": "tests"}
    parent.save(parent_dir)
    refresh_card(parent_dir)
    out = str(tmp_path / "mine")
    series = seasonal_series(150, seed=3) * 3 + 500
    model_zoo.finetune(parent_dir, series, out=out, epochs=1, strategy="full")
    m = CheckpointMetadata.load(out)
    verify_files(out, m.files)
    card = _card(out)
    fm = front_matter_of(card)
    assert fm["base_model"] == "forecast_lstm_tiny@1" and "finetuned" in fm["tags"]
    assert "| fine-tuned from | `forecast_lstm_tiny@1` (trained on tiny) |" in card
    assert "| dataset | user data" in card
    rows = m.metrics["finetune"]["comparison"]["rows"]["fine-tuned"]
    (result,) = fm["model-index"][0]["results"]
    assert result["dataset"]["name"] == "user data (held-out part)"
    assert {r["type"]: r["value"] for r in result["metrics"]}["mase"] == rows["mase"]
    assert "## Fine-tuning\n" in card and "## On the fine-tuning data" in card
    assert "written for that parent" in card and "- Untrained." in card
    # The usage snippet works: it loads this folder.
    snippet = card.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(snippet.replace("path/to/this/folder", out), namespace)
    x = series[-24:]
    np.testing.assert_allclose(namespace["model"].forecast(x),
                               model_zoo.load(out).forecast(x))


def test_card_of_finetuned_metadata_without_running_a_finetune():
    """The card of metadata shaped as `model_zoo.finetune` shapes it (see api.py)."""
    from model_zoo import comparison

    entry = default_registry().get("sentiment_bigru_imdb")
    m = copy.deepcopy(entry.metadata)
    m.name, m.version = "sentiment_bigru_imdb_finetuned", 1
    m.dataset = {"name": "user data", "parent_dataset": entry.metadata.dataset["name"]}
    record = comparison.build(
        {"fine-tuned": {"accuracy": 0.8}, "baseline": {"accuracy": 0.85}}, "accuracy", True,
        {"rule": "20% of each label", "train": 80, "validation": 10, "test": 20, "unit": "texts"},
        {"fine-tuned": "f", "baseline": "TF-IDF + LR"})
    m.metrics = {"finetune": {"epochs": 2, "comparison": record}}
    m.tags = sorted(set(m.tags) | {"finetuned", "parent:sentiment_bigru_imdb@1"})
    card = model_card(m)
    fm = front_matter_of(card)
    assert fm["base_model"] == "sentiment_bigru_imdb@1"
    assert record["verdict"] in card and BEATS not in card.replace(record["verdict"], "")
    assert "| epochs | 2 |" in card


def test_every_recipe_writes_card_notes():
    """A new run records its recipe's notes (`Recipe.card_notes`, filled in by the runner)."""
    from model_zoo.training.recipe import discover_recipes

    for name, cls in discover_recipes().items():
        notes = getattr(cls, "card_notes", None)
        assert notes and notes.get("intended_use") and notes.get("limitations"), name
