"""The micro-batch engine: detector protocol, runner, checkpoints and the conformance check."""

from fanzha.engine.protocol import SIGNAL_SCHEMA, Batch, Detector, State
from fanzha.engine.runner import Engine, RunSummary

__all__ = ["SIGNAL_SCHEMA", "Batch", "Detector", "Engine", "RunSummary", "State"]
