"""The courtfeed dashboard: a small FastAPI app the Airflow plugin mounts inside the Airflow UI.

Kept free of imports so the plugin entry file can read these names cheaply.
"""

# Where the Airflow api-server mounts the app; the Airflow UI itself is served above it.
URL_PREFIX = "/courtfeed"
