"""The headline figures of each bench run, kept in bench/results/ so that the README's table is
made from runs rather than typed (bench/table.py writes it).

A script calls `record(name, [Figure(...), ...])` after it has printed its figures; the file
`bench/results/<name>.json` is replaced, with the date, the database, the cores and the load
average of the machine at the time, so a figure always says where it came from. Commit the
file with the change it measures, then run `.venv/bin/python bench/table.py`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Figure:
    figure: str  # what is measured, and at what size
    command: str  # the command that prints it
    measured: str  # the figure as printed
    target: str = ""  # what the issue asked for, if anything
    met: bool | None = None  # whether the target holds; None where there is none


def record(name: str, figures: list[Figure], *, setup: str) -> Path:
    """Replace bench/results/<name>.json with this run's figures; `setup` names the database
    and broker (e.g. "PostgreSQL + Redis")."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    run = {
        "date": date.today().isoformat(),
        "setup": setup,
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 1),
        "figures": [asdict(figure) for figure in figures],
    }
    path.write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
    print(f"  figures kept in {path.relative_to(RESULTS.parent.parent)}", flush=True)
    return path


def database_setup(*, broker: bool = True) -> str:
    """The database ("SQLite" or "PostgreSQL"), and the broker where the run used one, as this
    process is configured."""
    postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    database = "PostgreSQL" if postgres else "SQLite"
    if not broker:
        return database
    return f"{database} + {'Redis' if os.environ.get('REDIS_URL') else 'filesystem broker'}"
