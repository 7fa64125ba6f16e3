"""Model worker: one code base; the model it serves is chosen by configuration."""
