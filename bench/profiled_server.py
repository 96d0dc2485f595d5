"""A server process whose main thread cProfile records only between two signals.

    python -m bench.profiled_server OUT.pstats uvicorn ARGS...      # the reference app
    python -m bench.profiled_server OUT.pstats langchain-platform ARGS...  # the service (--workers 1)

SIGUSR1 starts recording, SIGUSR2 stops it and writes OUT.pstats, so start-up, imports and warm-up
runs stay out of the figures (bench/run_cost.py sends them around its measured runs). Both servers
answer in the main thread with one worker; work other threads do (aiosqlite's) is not in the profile.
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType


def main() -> int:
    out, program, *args = sys.argv[1:]
    profiler = cProfile.Profile()

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    if program == "uvicorn":
        import uvicorn.main

        uvicorn.main.main(args)  # click: exits when the server stops
        return 0
    from langchain_platform.cli import main as platform_main

    return platform_main(args)


if __name__ == "__main__":
    sys.exit(main())
