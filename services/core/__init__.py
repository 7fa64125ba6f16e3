"""What every service shares: the runtime built from settings, health checks, logging and serving."""
