"""The synthetic city with ground truth, and the scorecard that scores fanzha on it.

`simulate()` writes a world (partner files, `ingest.yaml`, `truth/`); `fanzha.sim.scoring` runs the
pipeline on it and compares what fanzha found with the truth. The simulator's fraud is driven by
the facts of the reports (see `default_scenario.yaml`), never by what a detector looks at, and no
detector reads the truth.
"""

from fanzha.sim.world import WorldSummary, simulate

__all__ = ["WorldSummary", "simulate"]
