"""The DynamoDB records (pynamodb): table models, the one item mapping, and the repositories
of entries, users, base URIs, audit entries and archives (ports and implementations)."""
