"""Public transparency reports: figures, small-count suppression, the signed document and the coalition
roll-up (pure: no Flask, no SQL; the queries are in db/reports.py, publishing in donoharm/services/reports.py)."""
from __future__ import annotations

from .combine import accept, combined_figures
from .document import FORMAT, Period, ReportError, data_sha256, document_sha256, period_of, publishable_problem
from .figures import TABLES, publish

__all__ = ["FORMAT", "TABLES", "Period", "ReportError", "accept", "combined_figures", "data_sha256",
           "document_sha256", "period_of", "publish", "publishable_problem"]
