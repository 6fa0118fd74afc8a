"""The checks of bench/cluster.py, and how long each of its steps took."""

import time

WINDOW_S = 2.0  # short, so that recovered_s says when throughput came back, to a second or two
RECOVERED_SHARE = 0.8
RECOVER_LIMIT_S = 60.0


def recovered_after(kill: float, completions: list[float], rate: float) -> float | None:
    """Seconds from the kill to the end of the first WINDOW_S window after it in which runs
    finished at RECOVERED_SHARE of the offered rate; None if none did."""
    wanted = RECOVERED_SHARE * rate * WINDOW_S
    for end in sorted(moment for moment in completions if moment >= kill + WINDOW_S):
        if sum(end - WINDOW_S < moment <= end for moment in completions) >= wanted:
            return end - kill
    return None


class Steps:
    """Which step the run is in (named when one fails) and how long each one took."""

    def __init__(self) -> None:
        self.current, self.began = "", time.monotonic()
        self.took: dict[str, float] = {}

    def begin(self, name: str) -> None:
        self.end()
        self.current, self.began = name, time.monotonic()

    def end(self) -> None:
        if self.current:
            self.took[self.current] = round(time.monotonic() - self.began, 1)


def checks(loss: dict) -> dict[str, bool]:
    """Each check of the loss phase (bench/cluster.py's lose_a_host) by name: passed?"""
    return {
        "nothing lost": loss["lost"] == 0,
        "no document twice in Sage": loss["duplicates"] == 0,
        f"throughput back within {RECOVER_LIMIT_S:.0f} s": loss["recovered_s"] is not None
        and loss["recovered_s"] <= RECOVER_LIMIT_S,
    }
