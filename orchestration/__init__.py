"""The Dagster code location of redcat (`dagster dev -m orchestration.definitions`)."""
