"""The catalogue core: dataset entries (register, read, edit, delete), search, the audit log
and the index derived from the DynamoDB streams. Framework-free; reads and writes through the
ports in :mod:`chalicelib.adapters`."""
