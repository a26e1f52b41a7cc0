"""Settings for every notebook the suite executes (lectures/, solutions/), wherever pytest starts from."""
from __future__ import annotations

import pytest

# nbval waits only 5 s for each output message of a cell that has already finished. On a busy machine (two
# notebooks and a grading batch on two cores) a cell's last progress-bar updates can take longer to arrive,
# and the cell fails with "Timeout of 5 seconds exceeded waiting for output" although it ran correctly.
OUTPUT_WAIT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = OUTPUT_WAIT_S
