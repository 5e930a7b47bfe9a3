"""Keep secrets out of the record: what the engine logs, the tickets it opens, the imported
history and the models' texts all pass through here (the rules are in `rules.py`)."""

from redaction.rules import MASK, redact, redact_code, redact_user_ref

__all__ = ["MASK", "redact", "redact_code", "redact_user_ref"]
