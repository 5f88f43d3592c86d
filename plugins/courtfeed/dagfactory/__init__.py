"""The Airflow layer: one DAG per profile. Thin: tasks call the engine's stages."""
