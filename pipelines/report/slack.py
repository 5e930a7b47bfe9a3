"""Delivering the report's summary to a Slack incoming webhook (the URL is a secret: it never
appears in an error or a log line)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from markup.slack import escape_mrkdwn
from pipelines.report.formatting import headline_rows


class DeliveryError(Exception):
    """Delivering the report failed; the message says why and never holds the secret URL."""


def _mrkdwn_text(text: str) -> dict[str, Any]:
    """A Block Kit mrkdwn text object of `text`, escaped and `verbatim`: Slack turns none of
    it into links or mentions (no bare URLs, channel names or `@here`)."""
    return {"type": "mrkdwn", "text": escape_mrkdwn(text), "verbatim": True}


def slack_message(summary: dict[str, Any]) -> dict[str, Any]:
    """A Block Kit message: the period, the headline KPIs with their change, data quality and
    the report's file name."""
    rows = headline_rows(summary["kpis"])
    fields = [_mrkdwn_text(f"*{label}*\n{value} · {change}") for label, value, change in rows]
    file_name = summary.get("files", {}).get("html", summary["report"] + ".html")
    context = f"Data quality: {summary['data_quality']['message']} Full report: {file_name}"
    headline_text = ", ".join(f"{label} {value}" for label, value, _ in rows[:3])
    return {
        "text": escape_mrkdwn(f"Unticket report, {summary['label']}: {headline_text}. {file_name}"),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": f"Unticket report: {summary['label']}"[:150],
                },
            },
            {
                "type": "section",
                "text": _mrkdwn_text(f"Compared with {summary['previous_label']}."),
                "fields": fields[:10],
            },
            {"type": "context", "elements": [_mrkdwn_text(context)]},
        ],
    }


@contextmanager
def _quiet_httpx() -> Iterator[None]:
    """Keep httpx and httpcore from logging requests, which would carry the secret URL."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def post_to_slack(summary: dict[str, Any], url: str, timeout: float = 10.0) -> None:
    """POST the summary to a Slack incoming webhook; raise DeliveryError with a clear message
    (never the URL, which is a secret) when Slack cannot be reached or does not accept it."""
    try:
        with _quiet_httpx():
            response = httpx.post(url, json=slack_message(summary), timeout=timeout)
    except httpx.HTTPError as error:
        reason = str(error).replace(url, "<webhook>") or type(error).__name__
        raise DeliveryError(
            f"Slack delivery failed: could not reach the webhook ({reason})"
        ) from None
    if response.status_code != 200:
        body = response.text.strip()[:200].replace(url, "<webhook>")
        raise DeliveryError(
            f"Slack delivery failed: the webhook answered HTTP {response.status_code}"
            + (f" ({body})" if body else "")
        )
