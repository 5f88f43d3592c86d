"""What courtfeed tells the tools operators watch: OpenLineage datasets and facets (``lineage``)
and Prometheus metrics read from the upload ledger (``metrics``), as plain functions of what the
pipeline counted. Never a cell value: counts, paths, column and rule names only."""
