"""Measure every notebook (wall time, peak memory) and the MNIST benchmark; write the README table.

    python scripts/benchmark.py            # all notebooks + MNIST benchmark, rewrites the README table
    python scripts/benchmark.py --only 01  # just the notebooks whose name contains "01"
    python scripts/benchmark.py --grading-only  # just the grading throughput (scripts/bench_grading.py)
    python scripts/benchmark.py --grading-only --only 11_  # just that assignment's row; the others are kept

Each notebook is executed headless in a fresh kernel exactly as CI runs it. Peak memory is the
largest resident set size of any process involved (in practice the kernel).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results.json"
BUDGETS = {"lecture": (120, 2.0), "solution": (60, 2.0)}  # seconds, GiB on a 2-core CPU


def measure(command: list[str]) -> dict:
    """Run `command` in a child process and report its wall time and peak RSS (this process is fresh)."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_kib = peak_kib / 1024 if sys.platform == "darwin" else peak_kib  # macOS reports bytes
    return {"ok": result.returncode == 0, "wall_s": round(wall, 1), "peak_gib": round(peak_kib / 2**20, 2),
            "stdout": result.stdout[-2000:], "stderr": result.stderr[-2000:]}


def execute_notebook_command(notebook: Path, out_dir: str) -> list[str]:
    return [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
            "--ExecutePreprocessor.timeout=600", "--output-dir", out_dir, str(notebook)]


def in_fresh_process(command: list[str]) -> dict:
    """measure() in a new interpreter, so that peak RSS belongs to this command alone."""
    probe = subprocess.run([sys.executable, __file__, "--measure-json", json.dumps(command)],
                           capture_output=True, text=True, check=True)
    return json.loads(probe.stdout)


def title_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    for cell in cells:
        match = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.MULTILINE)
        if cell["cell_type"] == "markdown" and match:
            return match.group(1).strip()
    return notebook.stem


def notebooks(only: str | None) -> list[tuple[str, Path]]:
    found = [("lecture", p) for p in sorted(ROOT.glob("lectures/*.ipynb"))]
    found += [("solution", p) for p in sorted(ROOT.glob("solutions/*/*.ipynb"))]
    return [(kind, p) for kind, p in found if not only or only in p.name]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, {platform.system()}"


def run_all(only: str | None, grading_only: bool = False) -> dict:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"notebooks": {}}
    with tempfile.TemporaryDirectory() as out_dir:
        for kind, path in [] if grading_only else notebooks(only):
            row = in_fresh_process(execute_notebook_command(path, out_dir))
            seconds, gib = BUDGETS[kind]
            row.update(kind=kind, title=title_of(path), within_budget=row["ok"] and row["wall_s"] <= seconds
                       and row["peak_gib"] <= gib)
            results["notebooks"][str(path.relative_to(ROOT))] = {k: v for k, v in row.items()
                                                                 if k not in ("stdout", "stderr")}
            status = "ok" if row["within_budget"] else "OVER BUDGET" if row["ok"] else "FAILED\n" + row["stderr"]
            print(f"{path.relative_to(ROOT)}: {row['wall_s']} s, {row['peak_gib']} GiB — {status}", flush=True)
    if not only and not grading_only:
        row = in_fresh_process([sys.executable, str(ROOT / "scripts" / "bench_mnist.py")])
        results["mnist_cnn"] = {**json.loads(row["stdout"].strip().splitlines()[-1]), "peak_gib": row["peak_gib"]}
        print("MNIST CNN:", results["mnist_cnn"], flush=True)
        row = in_fresh_process([sys.executable, str(ROOT / "scripts" / "bench_scenes.py")])
        results["scenes"] = json.loads(row["stdout"].strip().splitlines()[-1])
        print("Scenes:", results["scenes"], flush=True)
    if not only or grading_only:
        results["grading"] = measure_grading(only, results.get("grading", []))
    results["machine"] = machine()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return results


def measure_grading(only: str | None, previous: list[dict]) -> list[dict]:
    """Grading throughput rows: the assignments matching `only` measured now, the other rows kept from before."""
    command = [sys.executable, str(ROOT / "scripts" / "bench_grading.py"), *(["--only", only] if only else [])]
    grading = subprocess.run(command, capture_output=True, text=True, check=True)
    measured = [json.loads(line) for line in grading.stdout.splitlines() if line.startswith("{")]
    print("Grading:", measured, flush=True)
    rows = {r["assignment"]: r for r in previous if only} | {r["assignment"]: r for r in measured}
    return [rows[name] for name in sorted(rows)]


def readme_table(results: dict) -> str:
    rows = ["| # | Lecture | Lecture notebook | Assignment | Lecture run time / peak RSS "
            "| Solution run time / peak RSS |", "|---|---|---|---|---|---|"]
    by_path = results["notebooks"]
    for lecture in sorted(p for p in by_path if p.startswith("lectures/")):
        number = Path(lecture).name.split("_")[0]
        solution = next((p for p in sorted(by_path) if p.startswith(f"solutions/{number}_")), None)
        assignment = f"[{Path(solution).parent.name}](assignments/{Path(solution).parent.name}/)" if solution else "—"
        cost = lambda p: f"{by_path[p]['wall_s']:.0f} s / {by_path[p]['peak_gib']:.2f} GiB" if p else "—"  # noqa: E731
        rows.append(f"| {number} | {by_path[lecture]['title']} | [{Path(lecture).name}]({lecture}) | {assignment} "
                    f"| {cost(lecture)} | {cost(solution)} |")
    mnist = results.get("mnist_cnn")
    lines = rows + ["", f"Measured with `./course bench` on {results['machine']}, headless, one notebook at a time."]
    if mnist:
        lines.append(f"MNIST benchmark (`scripts/bench_mnist.py`): a {mnist['parameters']:,}-parameter CNN reaches "
                     f"**{100 * mnist['test_acc']:.2f}%** test accuracy in **{mnist['wall_s']:.0f} s** wall "
                     f"({mnist['epochs']} epochs, imports and data loading included, "
                     f"peak {mnist['peak_gib']:.2f} GiB).")
    scenes = results.get("scenes")
    if scenes:
        small, large = scenes["64"], scenes["128"]
        lines.append(f"Scene generator (`scripts/bench_scenes.py`, `course_utils.make_scenes`): {small['n']:,} "
                     f"scenes of 64×64 with {small['objects']:,} objects in **{small['wall_s']:.1f} s**, "
                     f"{large['n']:,} of 128×128 with {large['objects']:,} objects in **{large['wall_s']:.1f} s** "
                     f"(plus {scenes['first_call_s']:.1f} s to load MNIST once).")
    return "\n".join(lines)


# Submissions per minute with the hidden tests run inside the student's kernel, before verdicts moved to the
# judges (same command, 4 reference submissions, 2 at a time, same machine): the baseline of the table.
IN_KERNEL_PER_MINUTE = {"01_perceptron_xor": 8.4, "02_backprop": 8.9, "03_activations": 8.2, "04_convolution": 3.1,
                        "05_optimizers": 7.3, "06_regularization": 5.9}


def grading_table(results: dict) -> str:
    rows = ["| Assignment | Reference submissions graded | Wall time | Throughput | Before (tests in the kernel) |",
            "|---|---|---|---|---|"]
    overhead = ""
    for r in results.get("grading", []):
        before = IN_KERNEL_PER_MINUTE.get(r["assignment"])
        rows.append(f"| {r['assignment']} | {r['students']} ({r['workers']} at a time, sandboxed) "
                    f"| {r['sandboxed_s']:.0f} s | {r['per_minute']:.1f} per minute "
                    f"| {f'{before:.1f} per minute' if before else '—'} |")
        if "overhead_s_per_submission" in r:
            overhead = (f"Sandbox overhead, measured on {r['assignment']}: {r['sandboxed_s']:.0f} s sandboxed vs "
                        f"{r['unsandboxed_s']:.0f} s without, {r['overhead_s_per_submission']:+.1f} s per submission.")
    machine = f"Measured with `./course bench` (`scripts/bench_grading.py`) on {results['machine']}."
    return "\n".join(rows + ["", overhead, machine])


def replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    before, rest = text.split(start)
    _, after = rest.split(end)
    return f"{before}{start}\n{body}\n{end}{after}"


def update_readme(results: dict) -> None:
    text = replace_between(README.read_text(), "benchmark", readme_table(results))
    if results.get("grading"):
        text = replace_between(text, "grading", grading_table(results))
    README.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="measure only notebooks whose file name contains this")
    parser.add_argument("--grading-only", action="store_true", help="measure only the grading throughput")
    parser.add_argument("--measure-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_json:
        print(json.dumps(measure(json.loads(args.measure_json))))
        return
    results = run_all(args.only, args.grading_only)
    update_readme(results)
    over = [p for p, r in results["notebooks"].items() if not r["within_budget"]]
    if over:
        raise SystemExit(f"Over budget or failing: {', '.join(over)}")


if __name__ == "__main__":
    main()
