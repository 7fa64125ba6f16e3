"""Results API: scans, per-model results, images and masks, model cards, live updates, and the web app."""
