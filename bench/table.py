"""Write the benchmark table in README.md and bench/README.md from bench/results/*.json.

    .venv/bin/python bench/table.py            # rewrite both tables
    .venv/bin/python bench/table.py --check    # exit 1 if either differs from the results

Each bench script keeps its figures in bench/results/ (bench/figures.py); this puts them, in
the order below, between the markers `<!-- bench-table:start -->` and
`<!-- bench-table:end -->`, so no figure in the READMEs is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
READMES = (ROOT / "README.md", ROOT / "bench" / "README.md")
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
# Results files in table order; any other file follows in name order.
ORDER = (
    "jobs-postgresql-1000000",
    "jobs-postgresql-100000",
    "dispatcher-postgresql",
    "dispatcher-sqlite",
    "throughput-postgresql",
    "throughput-sqlite",
    "pacing-postgresql",
    "pacing-embedded",
    "latency-embedded",
    "latency-postgresql",
    "dashboard-sqlite",
    "dashboard-postgresql",
    "footprint",
    "prearrival-postgresql",
)
HEADER = "| figure | command | measured | target | run |\n|---|---|---|---|---|\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _target(figure: dict) -> str:
    target = figure.get("target") or ""
    if figure.get("met") is True:
        return f"{target}: met"
    if figure.get("met") is False:
        return f"{target}: **not met**"
    return target


def _run(result: dict) -> str:
    day = date.fromisoformat(result["date"]).strftime("%-d %b %Y")
    return f"{day}, {result['setup']}, {result['cores']} cores, load {result['load_average']}"


def results() -> list[dict]:
    files = sorted(RESULTS.glob("*.json"))
    rank = {name: n for n, name in enumerate(ORDER)}
    files.sort(key=lambda path: (rank.get(path.stem, len(ORDER)), path.stem))
    return [json.loads(path.read_text()) for path in files]


def table() -> str:
    lines = [HEADER]
    for result in results():
        for figure in result["figures"]:
            cells = (
                figure["figure"],
                f"`{figure['command']}`",
                figure["measured"],
                _target(figure),
                _run(result),
            )
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |\n")
    return "".join(lines)


def rewritten(text: str, body: str) -> str:
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"the markers {START} … {END} are missing")
    return f"{head}{START}\n{body}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether they differ")
    args = parser.parse_args()
    body = table()
    stale = []
    for path in READMES:
        text = path.read_text()
        new = rewritten(text, body)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"out of date: {', '.join(map(str, stale))}; run bench/table.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
