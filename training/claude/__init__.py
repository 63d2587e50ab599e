"""Synthetic labelled sessions written by Claude (Messages API), one per call; see generator.py."""

from .generator import DEFAULT_MODEL, ClaudeGenerator, GenerationError, GeneratorConfig, RunResult

__all__ = ["DEFAULT_MODEL", "ClaudeGenerator", "GenerationError", "GeneratorConfig", "RunResult"]
