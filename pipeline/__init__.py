"""de06 pipeline: ingest → normalize → extract → validate → emit, and the Prefect flows."""

from __future__ import annotations

__version__ = "0.1.0"
