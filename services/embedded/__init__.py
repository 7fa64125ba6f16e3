"""Everything in one process for ``make run``: SQLite, a local object directory and an in-process queue."""
