"""Datasets, fine-tuning, calibration and the model-version registry (built in the training issue)."""
