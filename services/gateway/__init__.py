"""Upload gateway: validates a scan, stores it, and queues one job per model through the outbox."""
