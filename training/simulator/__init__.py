"""A seeded simulator of raw form sessions for each abandonment class (see DESIGN.md signatures)."""

from .core import GENERATOR_VERSION, SimulatedSession, simulate_sessions

__all__ = ["GENERATOR_VERSION", "SimulatedSession", "simulate_sessions"]
