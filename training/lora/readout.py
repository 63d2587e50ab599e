"""The first-token digit read-out lives in classifier/readout.py (inference and calibration share it);
training code and older imports reach it through these names."""

from classifier.readout import digit_log_probs, digit_probabilities, digit_token_ids, load_adapter, renormalise

__all__ = ["digit_log_probs", "digit_probabilities", "digit_token_ids", "load_adapter", "renormalise"]
