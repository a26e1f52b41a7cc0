"""Benchmark: how long `course_utils.make_scenes` takes to generate training sets. Prints one JSON line.

The first call loads the source dataset into memory (timed on its own); later calls only generate.
"""
from __future__ import annotations

import json
import time

from course_utils import make_scenes

SETS = {"64": {"n": 3000, "size": 64, "objects": (1, 4)}, "128": {"n": 1000, "size": 128, "objects": (2, 8)}}


def seconds(**options) -> tuple[float, int]:
    start = time.perf_counter()
    scenes = make_scenes(**options)
    return time.perf_counter() - start, len(scenes.boxes)


def main() -> None:
    result = {"first_call_s": round(seconds(n=10)[0], 2)}
    for name, options in SETS.items():
        wall, objects = seconds(**options)
        result[name] = {"n": options["n"], "objects_per_scene": options["objects"], "objects": objects,
                        "wall_s": round(wall, 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
