"""Report folders, baseline comparison and the CI gate."""

from __future__ import annotations

import json
import math

import pytest

from evals.report import (
    check_thresholds,
    compare_to_baseline,
    load_baseline,
    save_baseline,
    write_report,
)
from evals.suite import load_thresholds


def _report(**aggregate):
    return {
        "suite": "ci",
        "aggregate": aggregate,
        "suites": {
            "partner_qa": {
                "aggregate": aggregate,
                "items": [
                    {"id": "qa001", "answerable": True, "abstained": False, "key_fact_recall": 0.0},
                ],
            }
        },
    }


def test_report_folder_holds_json_summary_and_a_valid_png(tmp_path):
    from PIL import Image

    paths = write_report(
        _report(**{"partner_qa.key_fact_recall": 0.8, "partner_qa.semantic_similarity": math.nan}),
        tmp_path,
    )
    data = json.loads(paths["report"].read_text())
    assert data["aggregate"]["partner_qa.semantic_similarity"] is None  # NaN is written as null
    assert "qa001" in paths["summary"].read_text()
    with Image.open(paths["chart"]) as image:
        assert image.format == "PNG" and image.width > 100


def test_a_drop_beyond_tolerance_is_a_regression():
    assert compare_to_baseline(
        {"a.key_fact_recall": 0.70}, {"a.key_fact_recall": 0.80}, tolerance=0.05
    ) == ["a.key_fact_recall: 0.800 -> 0.700 (tolerance 0.05)"]


def test_a_drop_within_tolerance_is_not_a_regression():
    assert (
        compare_to_baseline(
            {"a.key_fact_recall": 0.78}, {"a.key_fact_recall": 0.80}, tolerance=0.05
        )
        == []
    )


def test_any_new_access_violation_is_a_regression():
    assert compare_to_baseline(
        {"a.access_violations": 1.0}, {"a.access_violations": 0.0}, tolerance=0.5
    )


def test_a_metric_no_longer_measured_is_a_regression():
    assert compare_to_baseline({"a.context_recall": math.nan}, {"a.context_recall": 0.5}) == [
        "a.context_recall: 0.500 -> not measured"
    ]


def test_regressions_are_recorded_and_printed(tmp_path, capsys):
    report = _report(**{"partner_qa.key_fact_recall": 0.5})
    write_report(report, tmp_path, baseline={"partner_qa.key_fact_recall": 0.9})
    assert report["regressions"] and "regressed" in capsys.readouterr().out


def test_saved_baseline_round_trips(tmp_path):
    path = save_baseline(
        _report(**{"partner_qa.key_fact_recall": 0.5, "x.nan": math.nan}), tmp_path / "ci.json"
    )
    assert load_baseline(path) == {"partner_qa.key_fact_recall": 0.5}


def test_gate_passes_when_every_threshold_is_met():
    assert (
        check_thresholds(
            _report(**{"a.recall": 0.7, "a.access_violations": 0.0}),
            {"a.recall": {"min": 0.6}, "a.access_violations": {"max": 0}},
        )
        == []
    )


def test_gate_fails_below_a_floor_and_above_a_ceiling():
    failures = check_thresholds(
        _report(**{"a.recall": 0.5, "a.access_violations": 2.0}),
        {"a.recall": {"min": 0.6}, "a.access_violations": {"max": 0}},
    )
    assert len(failures) == 2


def test_gate_fails_on_an_unmeasured_metric():
    assert check_thresholds(_report(**{"a.recall": math.nan}), {"a.recall": {"min": 0.6}}) == [
        "a.recall: not measured (needs >= 0.6)"
    ]


def test_gate_reads_the_whole_thresholds_file():
    failures = check_thresholds(_report(), load_thresholds())
    assert any("partner_qa.access_violations" in f for f in failures)


def test_malformed_threshold_is_a_clear_error():
    with pytest.raises(ValueError, match="'min' and/or 'max'"):
        check_thresholds(_report(**{"a": 1.0}), {"a": 0.5})
