"""Department, fund and consumption feeds: config-driven file readers and a COPY loader.

- mappings/<folder>.yml  one mapping per landing folder (headers, types, required columns)
- mapping.py             loads those files; FOLDERS is discovered from them
- dbt_codegen.py         writes the feeds' dbt sources and staging models (`make feeds`)
- reader.py              streams rows out of CSV/XLSX files (encoding, header row, junk rows)
- normalize.py           turns cell values into typed values, or a reason to reject the row
- tables.py              raw.feed_<folder> tables, built from the mappings
- load.py                which files to load, batches, duplicates and corrections
"""
from ingest.feeds.load import FileSummary, load_all, load_folder
from ingest.feeds.mapping import FOLDERS, load_mapping
from ingest.feeds.tables import ensure_feed_tables

__all__ = ["FOLDERS", "FileSummary", "ensure_feed_tables", "load_all", "load_folder", "load_mapping"]
