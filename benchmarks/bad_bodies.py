"""Whether bad request bodies can stall the service: `/health` alone, and while eight clients
keep sending 1 MiB bodies of 60,000 unknown keys.

    .venv/bin/python benchmarks/bad_bodies.py [--database-url URL] [--seconds 15]
        [--source FOLDER]

Starts `kep serve` (one worker) on a fresh SQLite file unless a database is given, and
prints the latency of `GET /health` (p50, p95, p99, max) without and with the bad
bodies, with how many 422s were answered, their size, and how long each took.
`--source` serves the code in another folder instead (an export of an older commit,
`git archive <commit> | tar -x -C FOLDER`), to compare versions with the same load.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.helpers.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
BODY = json.dumps(
    {"name": "Ann", "email": "ann@example.eu", **{f"k{i:05d}": i for i in range(60_000)}}
).encode()


def health_latencies(base: str, seconds: float) -> list[float]:
    found = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            assert client.get("/health").status_code == 200
            found.append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, share) for share in (0.5, 0.95, 0.99))
    return f"  {name:<34} {len(values):>6} {p50:>9.1f} {p95:>9.1f} {p99:>9.1f} {max(values):>9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--source", type=Path, default=ROOT, help="the code to serve")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{folder}/kep.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KEP_DATABASE_URL": url, "PYTHONPATH": str(args.source.resolve())}
    with open(os.path.join(folder, "log"), "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            cwd=args.source,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        quiet = health_latencies(base, args.seconds)

        stop = threading.Event()
        answers: list[tuple[int, int, float]] = []

        def flood() -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        response = client.post(
                            "/signup", content=BODY, headers={"Content-Type": "application/json"}
                        )
                    except httpx.HTTPError:
                        continue
                    elapsed = (time.perf_counter() - started) * 1000
                    answers.append((response.status_code, len(response.content), elapsed))

        flooders = [threading.Thread(target=flood) for _ in range(8)]
        for thread in flooders:
            thread.start()
        time.sleep(1)
        loaded = health_latencies(base, args.seconds)
        stop.set()
        for thread in flooders:
            thread.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(f"GET /health latency in ms, {len(BODY):,}-byte bodies of 60,000 unknown keys")
    print(f"  {'':<34} {'count':>6} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
    print(line("alone", quiet))
    print(line("while 8 clients send such bodies", loaded))
    statuses = sorted({status for status, _, _ in answers})
    sizes = statistics.mean(size for _, size, _ in answers)
    times = [elapsed for _, _, elapsed in answers]
    print(
        f"bad bodies answered: {len(answers)} (status {statuses}), {sizes:,.0f} bytes each, "
        f"{statistics.median(times):,.0f} ms median per answer"
    )


if __name__ == "__main__":
    main()
