"""Batch analysis of recording libraries on Dask, and the team's trend pages.

Public API:

- ``run_batch(paths, out, ...) -> BatchSummary``: every recording under ``paths`` analysed
  with ``hipscope.processing.pipeline.analyze_file`` on a Dask cluster (local by default), written
  incrementally as per-file parts and merged into one tidy Parquet table (one row per task
  per recording) plus an errors table; unchanged files are skipped on the next run.
- ``task_rows(doc)``: the tidy rows of one metrics document (the JSON contract).
- ``discover_recordings(paths)``: files, folders and glob patterns -> recordings.
- ``trends.write_trends(table, out, athlete=...)``: one athlete's metrics over time from a
  batch table, as the report's self-contained session-history page.
"""

from hipscope.processing.batch.discover import discover_recordings
from hipscope.processing.batch.flatten import task_rows
from hipscope.processing.batch.run import BatchSummary, run_batch

__all__ = ["BatchSummary", "discover_recordings", "run_batch", "task_rows"]
