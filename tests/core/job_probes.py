"""Jobs for tests to queue: they tell which process ran them."""

import os

from portal.core.jobs import runs_in_worker


def process_id() -> int:
    return os.getpid()


@runs_in_worker
def process_id_in_worker() -> int:
    return os.getpid()


def write_process_id(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))


def append_process_id(path: str) -> None:
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")


def append_then_linger(path: str, seconds: float) -> None:
    append_process_id(path)
    import time

    time.sleep(seconds)
