"""Exceptions the ports raise, shared by every AWS service (no boto3 here)."""

from __future__ import annotations


class TransientError(Exception):
    """Throttling, a 5xx or a network timeout: the operation is worth another attempt."""
