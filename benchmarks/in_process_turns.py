"""Two source trees timed in process in turn, on one programme: the in-process column of
``load.py`` for a kept single event and the listing, next to the bare app's floor, when
one run each is too noisy to compare them.

    .venv/bin/python benchmarks/in_process_turns.py --before DIR [--after DIR] [--rounds 3]

Fills a PostgreSQL database of its own with ``load.py``'s programme, then, round after
round, times each tree as ``load.py`` does (each request with nothing kept, then again,
40 times; medians). Prints one line per tree and round.
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import ROOT, Row, in_process_of, programme_database


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, required=True, help="the earlier source tree")
    parser.add_argument("--after", type=Path, default=ROOT, help="the later one (this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with programme_database() as (url, programme):
        picked = random.Random(11).sample(programme.event_ids, 200)
        events = [f"/events/{event}" for event in picked]
        rows = [Row("an event", events), Row("the listing", ["/events?limit=50"])]
        for round_number in range(1, args.rounds + 1):
            for name, source in (("before", args.before), ("after", args.after)):
                figures = in_process_of(source.resolve(), url, rows)
                shown = " | ".join(
                    f"{row} {figure.first_ms:.2f} → {figure.again_ms:.2f} ms"
                    for row, figure in figures.items()
                )
                print(f"round {round_number}, {name}: {shown}", flush=True)


if __name__ == "__main__":
    main()
