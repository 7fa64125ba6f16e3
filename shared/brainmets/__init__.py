"""BrainMets common package: networks, preprocessing, prediction and metrics shared by training and services."""

__version__ = "0.1.0"
