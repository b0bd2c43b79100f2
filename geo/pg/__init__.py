"""PostgreSQL plumbing: connection URLs (one host or libpq multi-host), primary/replica read routing."""
