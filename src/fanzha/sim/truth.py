"""Read a world's ground truth (DIR/truth/*.csv and world.json) back into Polars frames.

Only the scorecard reads this. Detectors and investigations never do: they see the partners'
files through ingest, like in real life.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fanzha.errors import FanzhaError
from fanzha.sim.writer import TIME_COLUMNS

_INT_COLUMNS = (
    "amount_fen",
    "loss_fen",
    "level",
    "contacts",
    "payments",
    "duration_s",
    "records",
    "price_fen",
    "village",
    "commission_fen",
)
_BOOL_COLUMNS = ("engaged", "victim")


@dataclass
class Truth:
    world: dict
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def get(self, name: str) -> pl.DataFrame:
        return self.tables.get(name, pl.DataFrame())

    @property
    def people(self) -> int:
        return int(self.world["people"])


def load_truth(world_dir: str | Path) -> Truth:
    d = Path(world_dir) / "truth"
    meta = d / "world.json"
    if not meta.is_file():
        raise FanzhaError(
            f"{world_dir}: no truth/world.json; is this a world made by `fanzha sim`?"
        )
    world = json.loads(meta.read_text())
    tables = {}
    for p in sorted(d.glob("*.csv")):
        df = pl.read_csv(p, infer_schema_length=0)  # everything as text first, then typed
        casts = []
        for c in df.columns:
            if c in TIME_COLUMNS:
                casts.append(
                    pl.col(c)
                    .str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="ms")
                    .dt.epoch("ms")
                    .alias(c)
                )
            elif c in _INT_COLUMNS:
                casts.append(pl.col(c).cast(pl.Int64))
            elif c in _BOOL_COLUMNS:
                casts.append(pl.col(c) == "true")
        tables[p.stem] = df.with_columns(casts) if casts else df
    return Truth(world, tables)
