"""Trace language, features, model backends and predictions (built in the classifier-core issue)."""
