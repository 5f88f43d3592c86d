"""courtfeed: court and public-safety file feeds into a database, run by Apache Airflow."""

__version__ = "0.1.0"
