"""Report folders of eval runs, baselines and the CI gate.

Each run writes ``report.json`` (every item and the aggregates, prompt versions, model names and
the git commit), ``summary.md`` (for a human or a CI log) and ``metrics.png`` (a bar chart of the
0-1 metrics), and compares its aggregates with a stored baseline (``evals/baselines/<suite>.json``)
so that a change that makes things worse is named, not hidden in a table.

The gate (:func:`check_thresholds`) reads ``evals/thresholds.yaml``: floors (``min``) and ceilings
(``max``) on flattened metric names such as ``partner_qa.abstain_recall``. A metric that was not
measured (missing or NaN) fails the gate: a gate that silently passes on missing data is no gate.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Metrics where a higher value is worse; every other metric is better when higher.
LOWER_IS_BETTER = (
    "access_violations",
    "forbidden_claim_rate",
    "must_not_violations",
    "confidently_wrong",
    "wrong_value",
    "seconds",
)
# Aggregates that describe the run rather than its quality.
NOT_COMPARED = ("items", "queries", "paths", "errors", "seconds")
DEFAULT_TOLERANCE = 0.02


def git_commit(cwd: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the working copy, or None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def lower_is_better(metric: str) -> bool:
    return any(metric.endswith(name) for name in LOWER_IS_BETTER)


def _compared(metric: str) -> bool:
    return not any(metric.endswith("." + name) or metric == name for name in NOT_COMPARED)


def compare_to_baseline(
    aggregate: Mapping[str, float],
    baseline: Mapping[str, float],
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[str]:
    """One line per metric that got worse than the baseline by more than ``tolerance``.

    Counts (access violations) regress on any increase. A metric measured in the baseline but
    missing or NaN now is a regression too; metrics new in this run are not.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, not {tolerance}")
    regressions = []
    for metric, before in sorted(baseline.items()):
        if not _compared(metric) or not isinstance(before, int | float) or math.isnan(before):
            continue
        now = aggregate.get(metric)
        if now is None or (isinstance(now, float) and math.isnan(now)):
            regressions.append(f"{metric}: {before:.3f} -> not measured")
            continue
        if lower_is_better(metric):
            allowed = 0.0 if metric.endswith("violations") else tolerance
            if now > before + allowed:
                regressions.append(f"{metric}: {before:.3f} -> {now:.3f} (lower is better)")
        elif now < before - tolerance:
            regressions.append(f"{metric}: {before:.3f} -> {now:.3f} (tolerance {tolerance})")
    return regressions


def check_thresholds(report: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """Failures of the gate: one line per threshold the report's aggregates miss.

    ``thresholds`` maps a flattened metric name to ``{"min": x}`` and/or ``{"max": y}``; it may
    also be the whole thresholds file, in which case the entry of the report's suite is used
    (``{"ci": {"thresholds": {...}}}``). An empty list means the gate passes.
    """
    aggregate = report.get("aggregate") or {}
    suite = str(report.get("suite"))
    if suite in thresholds and isinstance(thresholds[suite], Mapping):
        thresholds = thresholds[suite].get("thresholds") or {}
    failures = []
    for metric, rule in sorted(thresholds.items()):
        if not isinstance(rule, Mapping) or not ({"min", "max"} & set(rule)):
            raise ValueError(f"threshold for {metric!r} must be a mapping with 'min' and/or 'max'")
        value = aggregate.get(metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            failures.append(f"{metric}: not measured (needs {_rule_text(rule)})")
            continue
        if "min" in rule and value < float(rule["min"]):
            failures.append(f"{metric}: {value:.3f} is below the floor {float(rule['min']):.3f}")
        if "max" in rule and value > float(rule["max"]):
            failures.append(f"{metric}: {value:.3f} is above the ceiling {float(rule['max']):.3f}")
    return failures


def _rule_text(rule: Mapping[str, Any]) -> str:
    parts = []
    if "min" in rule:
        parts.append(f">= {rule['min']}")
    if "max" in rule:
        parts.append(f"<= {rule['max']}")
    return " and ".join(parts)


def load_baseline(path: Path | None) -> dict[str, float] | None:
    """The aggregates stored in a baseline file, or None when there is none."""
    if path is None or not Path(path).is_file():
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"baseline {path} is not JSON ({exc.msg}); delete or fix it") from None
    aggregate = data.get("aggregate", data) if isinstance(data, dict) else None
    if not isinstance(aggregate, dict):
        raise ValueError(f"baseline {path} holds no 'aggregate' mapping")
    return {k: float(v) for k, v in aggregate.items() if isinstance(v, int | float)}


def save_baseline(report: Mapping[str, Any], path: Path) -> Path:
    """Store a run's aggregates as the baseline later runs are compared with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "suite": report.get("suite"),
        "git_commit": report.get("git_commit"),
        "created_at": report.get("created_at"),
        "models": report.get("models"),
        "aggregate": report.get("aggregate", {}),
    }
    path.write_text(_dumps(body), encoding="utf-8")
    return path


def write_report(
    report: dict[str, Any],
    out_dir: Path,
    baseline: Mapping[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Path]:
    """Write ``report.json``, ``summary.md`` and ``metrics.png`` into ``out_dir``.

    Adds ``created_at``, ``git_commit`` and ``regressions`` to ``report`` (in place) and prints
    the regressions, if any. Returns the paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    report.setdefault("git_commit", git_commit())
    aggregate = report.get("aggregate") or {}
    report["regressions"] = compare_to_baseline(aggregate, baseline, tolerance) if baseline else []
    paths = {
        "report": out_dir / "report.json",
        "summary": out_dir / "summary.md",
        "chart": out_dir / "metrics.png",
    }
    paths["report"].write_text(_dumps(report), encoding="utf-8")
    paths["summary"].write_text(render_summary(report, baseline), encoding="utf-8")
    plot_metrics(aggregate, paths["chart"], title=f"evals: {report.get('suite', '')}")
    if report["regressions"]:
        print(f"{len(report['regressions'])} metric(s) regressed against the baseline:")
        for line in report["regressions"]:
            print(f"  - {line}")
    return paths


def render_summary(report: Mapping[str, Any], baseline: Mapping[str, float] | None = None) -> str:
    """Markdown: run facts, the aggregate table (with the baseline beside it), regressions and
    the items that missed (up to 25 per suite)."""
    lines = [f"# Eval report: {report.get('suite', '?')}", ""]
    facts = {
        "created": report.get("created_at"),
        "git commit": report.get("git_commit"),
        "models": json.dumps(report.get("models") or {}),
        "prompt versions": json.dumps(report.get("prompt_versions") or {}),
        "judge": report.get("judge"),
        "seconds": report.get("seconds"),
    }
    lines += [f"- **{k}**: {v}" for k, v in facts.items() if v is not None]
    lines += ["", "| metric | value | baseline |", "|---|---:|---:|"]
    for metric, value in sorted((report.get("aggregate") or {}).items()):
        before = (baseline or {}).get(metric)
        lines.append(f"| {metric} | {_fmt(value)} | {_fmt(before) if before is not None else ''} |")
    regressions = report.get("regressions") or []
    lines += ["", "## Regressions", ""]
    lines += [f"- {r}" for r in regressions] or ["none" if baseline else "no baseline to compare"]
    for name, body in (report.get("suites") or {}).items():
        missed = [row for row in body.get("items", []) if _missed(row)]
        if not missed:
            continue
        lines += ["", f"## Misses in {name} ({len(missed)})", ""]
        for row in missed[:25]:
            lines.append(f"- `{row.get('id')}`: {_miss_reason(row)}")
    return "\n".join(lines) + "\n"


def _missed(row: Mapping[str, Any]) -> bool:
    return bool(_miss_reason(row))


def _miss_reason(row: Mapping[str, Any]) -> str:
    reasons = [row["error"]] if row.get("error") else []
    if "answerable" in row and row["answerable"] == row.get("abstained"):
        reasons.append(
            "abstained on an answerable item"
            if row["answerable"]
            else "answered an unanswerable item"
        )
    for metric, bad in (
        ("key_fact_recall", lambda v: v < 1),
        ("confidently_wrong", lambda v: v > 0),
        ("wrong_value", lambda v: v > 0),
        ("access_violations", lambda v: v > 0),
        ("injection_resisted", lambda v: v < 1),
        ("must_not_violations", lambda v: v > 0),
        ("forbidden_claim_rate", lambda v: v > 0),
        ("correct", lambda v: v < 1),
    ):
        value = row.get(metric)
        if isinstance(value, int | float) and not math.isnan(value) and bad(value):
            reasons.append(f"{metric}={_fmt(value)}")
    return ", ".join(reasons)


def plot_metrics(aggregate: Mapping[str, float], path: Path, title: str = "evals") -> Path:
    """A horizontal bar chart of the aggregates that lie in [0, 1] (counts are left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {
        k: v
        for k, v in sorted(aggregate.items())
        if isinstance(v, int | float)
        and not math.isnan(v)
        and 0 <= v <= 1
        and _compared(k)
        and not k.endswith("violations")
    }
    height = max(2.0, 0.3 * len(shown) + 1)
    fig, ax = plt.subplots(figsize=(8, height))
    try:
        if shown:
            ax.barh(list(shown), list(shown.values()), color="#3b6ea5")
            ax.invert_yaxis()
        else:
            ax.text(0.5, 0.5, "no 0-1 metrics measured", ha="center", va="center")
        ax.set_xlim(0, 1)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _dumps(data: Any) -> str:
    """JSON with NaN written as null (NaN is not JSON, and every reader but Python rejects it)."""
    return json.dumps(_nan_to_none(data), indent=2, ensure_ascii=False, default=str) + "\n"


def _nan_to_none(data: Any) -> Any:
    if isinstance(data, float) and math.isnan(data):
        return None
    if isinstance(data, dict):
        return {k: _nan_to_none(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_nan_to_none(v) for v in data]
    return data
