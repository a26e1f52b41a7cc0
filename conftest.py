"""Settings for every notebook the suite executes (lectures/, solutions/), wherever pytest starts from."""
from __future__ import annotations

import pytest

# nbval waits only 5 s for each output message of a cell that has already finished. On a busy machine (two
# notebooks and a grading batch on two cores) a cell's last progress-bar updates can take longer to arrive,
# and the cell fails with "Timeout of 5 seconds exceeded waiting for output" although it ran correctly.
OUTPUT_WAIT_S = 120


def start_order(item: pytest.Item) -> int:
    """Slowest scopes first: end-to-end tests (minutes each), grading batches, browser checks, notebooks, then
    unit tests.
    `./course test` hands scopes to xdist's workers in this order (--no-loadscope-reorder), so no worker
    starts a many-minute scope while the others have nothing left to do."""
    if item.get_closest_marker("e2e"):
        return 0
    if item.get_closest_marker("grading"):
        return 1
    if item.get_closest_marker("browser"):
        return 2
    return 3 if hasattr(item, "output_timeout") else 4


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = OUTPUT_WAIT_S
    items.sort(key=start_order)  # stable: a scope's own tests keep their order
