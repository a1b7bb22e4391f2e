"""The hot spots of a py-spy profile: the functions most often on the stack.

    py-spy record --format raw --rate 200 --duration 15 --pid WORKER -o stacks.txt
    .venv/bin/python benchmarks/hot_spots.py stacks.txt [--top 25]

Reads py-spy's collapsed stacks (``frame;frame;... count``) and prints, for the top
functions, the share of samples in which each is on the stack (inclusive) and at its
top (self). Idle samples (the event loop waiting, threads waiting for work) are left
out of the total, so the shares are of the time spent working.
"""

import argparse
import re
from collections import Counter

IDLE = re.compile(r"\b(select|_worker|wait|poll|epoll|_run_once|run_forever)\b")


def name(frame: str) -> str:
    # "function (path/to/module.py:line)" -> "function (module.py)"
    match = re.match(r"(.*?) \((.*?):\d+\)", frame)
    if not match:
        return frame
    function, path = match.groups()
    for marker in ("site-packages/", "/app/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/app/":
                path = "app/" + path
            break
    return f"{function} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stacks")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(args.stacks, encoding="utf-8") as stacks:
        lines = stacks.read().splitlines()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        frames = [name(frame) for frame in stack.split(";") if frame.strip()]
        if frames and IDLE.search(frames[-1].split(" (")[0]):
            continue  # waiting, not working
        samples = int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        if frames:
            own[frames[-1]] += samples
    print(f"{total} working samples")
    print(f"{'on stack':>9} {'self':>6}  function")
    for frame, samples in inclusive.most_common(args.top * 3)[: args.top * 3]:
        if frame.startswith(("<module>", "run (", "_bootstrap", "process_thread")):
            continue
        print(f"{100 * samples / total:8.1f}% {100 * own[frame] / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
