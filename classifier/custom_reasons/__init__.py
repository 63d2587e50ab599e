"""Custom reasons: a tenant's own reasons under the six classes, learnt from a few example sessions, no retraining.

The embedded path scores nearest prototypes over the trace features the embedded model computes plus the names of
the fields the visitor touched (prototypes.py, vectors.py); LLM backends get the reasons and their examples in the
prompt (llm.py). services.py defines reasons and attaches examples; selectors.py reads them.
"""
