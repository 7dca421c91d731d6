"""benchmarks/finetune_vs_baselines.py: the table built from fake run records (nothing
is trained or loaded here)."""

from script_loader import load_script

bench = load_script("benchmarks/finetune_vs_baselines.py")


def _record(arm, value, seed=0, baseline=1.0, zero_shot=0.9, chosen=None, dataset="a10"):
    return {"task": "forecasting", "dataset": dataset, "model": "forecast_lstm_airline",
            "arm": arm, "seed": seed, "epochs": 40, "quick": False, "metric": "mase",
            "higher_is_better": False, "value": value, "baseline": baseline,
            "zero_shot": None if arm == "scratch" else zero_shot, "seconds": 12.0,
            "strategy": {"chosen": chosen or arm}}


def test_table_judges_auto_against_baseline_and_scratch():
    records = [_record("scratch", 0.8), _record("full", 0.95), _record("gradual_unfreezing", 0.7),
               _record("auto", 0.7, chosen="gradual_unfreezing")]
    tables = bench.summarize(records)
    (row,) = tables["forecasting"]
    assert row["cells"]["baseline"] == (1.0, None)
    assert row["cells"]["zero-shot"] == (0.9, None)
    assert row["meets_baseline"] is True and row["beats_scratch"] is True
    text = "\n".join(bench.table_lines(tables))
    assert "0.7 [gradual_unfreezing] (12 s)" in text
    assert "| a10 | forecast_lstm_airline | 0 | 1 | 0.9 | 0.8 (12 s) |" in text


def test_losses_are_marked_and_seeds_averaged():
    records = [_record("scratch", 0.5, seed=s) for s in (0, 1)] + \
              [_record("auto", v, seed=s, baseline=1.0) for s, v in ((0, 1.2), (1, 1.0))]
    rows = bench.summarize(records)["forecasting"]
    assert [r["seed"] for r in rows] == [0, 1, "mean"]
    assert rows[0]["meets_baseline"] is False and rows[0]["beats_scratch"] is False
    assert rows[1]["meets_baseline"] is True  # A tie reaches the baseline.
    assert rows[2]["cells"]["auto"][0] == 1.1
    assert "**no**" in "\n".join(bench.table_lines({"forecasting": rows}))


def test_every_task_has_two_data_sets_and_a_judged_strategy():
    for task, spec in bench.TASKS.items():
        assert len(spec["datasets"]) >= 2, task
        assert spec["judged"] in spec["strategies"], task
        assert all(arm in bench.ARMS for arm in spec["strategies"]), task
