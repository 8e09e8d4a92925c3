"""Archival of datasets (OAIS: SIP → AIP as a BagIt bag in the archive bucket): framework-free steps."""
