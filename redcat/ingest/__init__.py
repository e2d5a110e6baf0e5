"""Ingestion: landing-zone dumps -> verified, validated, deduplicated Parquet (the raw layer)."""
