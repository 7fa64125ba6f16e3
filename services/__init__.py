"""BrainMets services: upload gateway, model workers, results API, and all of them in one process."""
