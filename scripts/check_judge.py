"""Grade an assignment's solution, untouched release and catalogued wrong answers in a scratch course.

    python scripts/check_judge.py 01_perceptron_xor [SCRATCH_DIR] [solution,untouched,wrong]

Prints every judge verdict and the scores: the quick loop while writing a judge (tests do the full batch).
"""
import sys, time, shutil, importlib.util
sys.path.insert(0, "tests")
from pathlib import Path
import nbformat
from course_grading.course import scratch_course, run_nbgrader
from submissions import answered, read
from nbgrader.api import Gradebook
ROOT=Path(".").resolve(); a=sys.argv[1]; dest=Path(sys.argv[2] if len(sys.argv)>2 else f"/tmp/g_{a}")
shutil.rmtree(dest, ignore_errors=True)
course = scratch_course(dest/"course", ROOT)
r=run_nbgrader(course, "generate_assignment", a, "--force"); assert r.returncode==0, r.stderr
rel = read(course/"assignments"/a/f"{a}.ipynb"); src = read(course/"solutions"/a/f"{a}.ipynb")
spec=importlib.util.spec_from_file_location("w", f"tests/wrong_answers/{a}.py"); m=importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
wrong = {k: (v if isinstance(v, str) else v[0]) for k, v in m.WRONG_ANSWERS.items()}
subs = {"solution": answered(rel, src), "untouched": rel, "wrong": answered(rel, src, wrong)}
only = sys.argv[3].split(",") if len(sys.argv) > 3 else list(subs)
for student in only:
    f = course/"submitted"/student/a; f.mkdir(parents=True); nbformat.write(subs[student], f/f"{a}.ipynb")
t=time.time()
r=run_nbgrader(course, "autograde", a); print("autograde rc", r.returncode, f"{time.time()-t:.1f}s")
print("\n".join(l for l in r.stderr.splitlines() if "judge" in l or "ERROR" in l or "Error" in l)[-6000:])
with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
    print("max", gb.find_assignment(a).max_score)
    for s in only:
        print(s, gb.find_submission(a, s).score)
