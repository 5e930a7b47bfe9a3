"""Writing the report: the HTML file and the JSON summary beside it, each replaced atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from pipelines.report.build import Report
from pipelines.report.html import render_html


class ReportPaths(NamedTuple):
    """The files one report was written to."""

    html: Path
    json: Path


def _jsonable(value: Any) -> Any:
    """Dates and timestamps as ISO text, recursively."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def report_summary(report: Report, paths: ReportPaths | None = None) -> dict[str, Any]:
    """The JSON summary: the period, every figure the report shows, and the files' names."""
    summary = asdict(report)
    summary["priorities"] = report.priorities._asdict()
    summary = {
        "report": report.name,
        "label": report.label,
        "previous_label": report.previous_label,
        **summary,
    }
    if paths is not None:
        summary["files"] = {"html": paths.html.name, "json": paths.json.name}
    return _jsonable(summary)


def _write_atomically(path: Path, text: str) -> None:
    """Write a file under a temporary name, then rename it: readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(report: Report, directory: Path) -> ReportPaths:
    """Write the HTML report and its JSON summary into `directory` (created if needed);
    re-running for the same period replaces them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(directory / f"{report.name}.html", directory / f"{report.name}.json")
    _write_atomically(paths.html, render_html(report))
    summary = report_summary(report, paths)
    _write_atomically(paths.json, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return paths
