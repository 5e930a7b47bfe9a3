"""The redaction corpora (tests/fixtures/redaction/), read by tests/redaction/test_redaction.py and
bench/redaction_speed.py."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CORPUS = Path(__file__).parent / "fixtures" / "redaction"


@cache
def secret_messages() -> list[dict]:
    """The secret corpus: each entry's kind, language, message and the secrets in it."""
    return yaml.safe_load((CORPUS / "secrets.yml").read_text(encoding="utf-8"))


@cache
def ordinary_requests() -> list[str]:
    """The ordinary requests, one a line (blank lines and `#` comments skipped)."""
    lines = (CORPUS / "ordinary.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]
