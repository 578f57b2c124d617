"""The one error the lab commands show: one line, what went wrong and what to do."""

from __future__ import annotations


class LabError(RuntimeError):
    pass
