"""Redaction's old address, kept for callers outside the resolver: read `redaction`."""

from redaction import MASK, redact, redact_code, redact_user_ref

__all__ = ["MASK", "redact", "redact_code", "redact_user_ref"]
