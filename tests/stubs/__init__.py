"""Test doubles of external services, started in-process by tests."""
