"""The Data Tracker's domain (SciLifeLab Data Tracker, issue 19): orders, their datasets,
collections, permission topics and API keys, on the catalogue's own records."""
