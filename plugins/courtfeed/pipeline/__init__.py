"""The per-file pipeline as stages with plain data between them, one stage per module:
fetch -> read -> validate -> map -> load -> acknowledge -> finalize.

Each stage takes a ``FileWork`` (work.py) and returns it updated; rows travel between stages as
staged Parquet files (parquet_io.py) in the file's staging folder (staging.py). ``run`` chains the
stages for the command line; the DAG runs each as its own task (courtfeed.dagfactory).
"""
