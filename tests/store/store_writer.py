"""A separate writer process for the durability tests: adds attempts (each with its metrics) to a
store in a loop, printing each attempt's id once its transaction has committed.

usage: python store_writer.py URL RUN_ID COUNT SEED [START_AT]   (COUNT 0 = until killed; START_AT:
wall-clock time to start writing at, so that several writers really overlap)"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sample_records import make_attempt, make_profile  # noqa: E402

from kernelwright.contracts import Status  # noqa: E402
from kernelwright.store import open_store  # noqa: E402


def main() -> None:
    url, run_id, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    store = open_store(url)
    if len(sys.argv) > 5:
        time.sleep(max(0.0, float(sys.argv[5]) - time.time()))
    i = 0
    while count == 0 or i < count:
        attempt = make_attempt(
            run_id,
            status=rng.choice([Status.ok, Status.ok, Status.suspicious, Status.incorrect]),
            median_ms=rng.uniform(0.1, 10.0),
            round_=i,
            candidate_index=seed,
            profile=make_profile(),
        )
        attempt_id = store.add_attempt(attempt)
        store.add_metrics(attempt_id, make_profile().metrics)
        print(attempt_id, flush=True)
        i += 1
    store.close()


if __name__ == "__main__":
    main()
