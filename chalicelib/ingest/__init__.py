"""Ingest of datasets and BagIt bags from object storage: framework-free and AWS-free checks."""
