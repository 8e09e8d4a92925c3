"""Persistence: pynamodb models (shapes only) and the repository that maps them to domain records."""
