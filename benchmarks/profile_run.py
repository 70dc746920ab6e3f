"""Where ``repr-assets run`` spends its time and memory, step by step.

Runs the command in this process (``repr_assets.cli.main``) with a sampler thread that
reads this process's resident memory every ``--interval`` seconds and notes which asset
step, and which ``repr_assets`` function inside it, the main thread is in. It prints the
wall time and peak RSS per step, the functions where the peak of each step was seen, and,
with ``--cprofile``, the top entries of a cProfile by cumulative and own time.

    REPR_ASSETS_HOME=$(mktemp -d) python -m benchmarks.profile_run -- run --dataset digits
    python -m benchmarks.profile_run --cprofile out.prof -- run --source f.parquet ...
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType

PACKAGE = str(Path(__file__).resolve().parents[1] / "repr_assets")
STEP_FILES = (
    "orchestration/assets.py",
    "orchestration/embeddings.py",
    "orchestration/report.py",
    "orchestration/publish.py",
)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def where(frame: FrameType | None) -> tuple[str, str]:
    """(asset step, innermost ``repr_assets`` function) of a stack, or ("-", "-")."""
    step, inner = "-", "-"
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(PACKAGE):
            if inner == "-":
                inner = f"{path[len(PACKAGE) + 1 :]}:{frame.f_code.co_name}"
            if path.endswith(STEP_FILES) and not frame.f_code.co_name.startswith("_"):
                step = frame.f_code.co_name
        frame = frame.f_back
    return step, inner


class Sampler(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.main = threading.main_thread().ident
        self.stop = threading.Event()
        self.peak: dict[str, tuple[float, str]] = {}
        self.entry: dict[str, float] = {}  # RSS when a step was first seen: what it inherits
        self.seen: dict[str, list[float]] = defaultdict(lambda: [float("inf"), 0.0])
        self.order: list[str] = []

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            rss = rss_mib()
            step, inner = where(sys._current_frames().get(self.main or 0))
            now = time.perf_counter()
            if step not in self.seen:
                self.order.append(step)
                self.entry[step] = rss
            span = self.seen[step]
            span[0], span[1] = min(span[0], now), max(span[1], now)
            if rss > self.peak.get(step, (0.0, ""))[0]:
                self.peak[step] = (rss, inner)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--cprofile", type=Path, default=None, help="write a cProfile here")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- then repr-assets arguments")
    args = parser.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv

    from repr_assets.cli import main as cli_main

    sampler = Sampler(args.interval)
    sampler.start()
    profile = cProfile.Profile() if args.cprofile else None
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    code = cli_main(argv)
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    peak = max((p[0] for p in sampler.peak.values()), default=0.0)
    print(f"\nexit {code}; {seconds:.1f} s in all; peak RSS {peak:.0f} MiB")
    print(
        f"{'step (sampled)':<28}{'~seconds':>10}{'start MiB':>10}{'peak MiB':>10}"
        "  where the peak was seen"
    )
    for step in sampler.order:
        first, last = sampler.seen[step]
        rss, inner = sampler.peak[step]
        entry = sampler.entry[step]
        print(f"{step:<28}{last - first:>10.1f}{entry:>10.0f}{rss:>10.0f}  {inner}")
    if profile is not None and args.cprofile is not None:
        profile.dump_stats(args.cprofile)
        for key in ("cumulative", "tottime"):
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats(key).print_stats(args.top)
            print(text.getvalue())
    sys.exit(code)


if __name__ == "__main__":
    main()
