"""Training and evaluation of the segmentation networks (not needed by the services)."""
