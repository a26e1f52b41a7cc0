"""Tamper detection flags interference with grading and leaves ordinary student code alone."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_grading.tamper import scan_notebook, scan_source, student_cells

ROOT = Path(__file__).resolve().parents[1]

# What students really write: none of it may be flagged.
LEGIT = {
    "imports": "import math\nimport random\nimport numpy as np\nimport torch\nfrom torch import nn\n"
               "import torch.nn.functional as F\nimport matplotlib.pyplot as plt\nfrom collections import Counter",
    "helper": "def _dot(a, b):\n    return sum(x * y for x, y in zip(a, b))\n\ndef relu(x):\n    return x.clamp(min=0)",
    "class": "class MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "        self.net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))\n"
             "    def forward(self, x):\n        return self.net(x)",
    "training loop": "model = MLP()\nopt = torch.optim.Adam(model.parameters(), lr=1e-2)\nfor step in range(100):\n"
                     "    loss = F.mse_loss(model(x), y)\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n"
                     "    if step % 10 == 0:\n        print(step, loss.item())",
    "seeding and config": "torch.manual_seed(0)\nnp.random.seed(0)\nrandom.seed(0)\n"
                          "torch.backends.cudnn.benchmark = True\ntorch.set_num_threads(2)\n"
                          "np.set_printoptions(precision=3)\nplt.rcParams['figure.figsize'] = (6, 4)",
    "plotting": "%matplotlib inline\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])\nax.set_title('loss')\nplt.show()",
    "timing": "%%time\nimport time\nstart = time.perf_counter()\nelapsed = time.perf_counter() - start",
    "attributes of own objects": "w = torch.zeros(3, requires_grad=True)\nw.grad = None\nmodel.fc = nn.Linear(4, 2)\n"
                                 "layer = nn.Linear(2, 2)\nlayer.weight.data = torch.eye(2)\n"
                                 "self_made = {}\nself_made['a'] = 1",
    "shadowing common names": "sum = 0\nfor i in range(3):\n    sum += i\n"
                              "max_value = max([1, 2])\nid = 3\ninput = torch.ones(2)",
    "numpy and files of its own": "np.save('weights.npy', np.zeros(3))\nw = np.load('weights.npy')\n"
                                  "with open('notes.txt', 'w') as f:\n    f.write('hi')",
    "os path and sys version": "import os\nimport sys\nprint(os.path.join('a', 'b'), sys.version, os.cpu_count())",
    "tqdm and widgets": "from tqdm.auto import tqdm\nfor _ in tqdm(range(3)):\n    pass\nimport ipywidgets as W",
    "syntax error": "def broken(:\n    pass",
}

# Ways to make tests pass without solving anything: every one must be flagged.
CHEATS = {
    "rebind torch.allclose": "import torch\ntorch.allclose = lambda *a, **k: True",
    "rebind a Tensor method": "import torch\ntorch.Tensor.__eq__ = lambda a, b: True",
    "rebind via alias": "import numpy\nt = numpy.testing\nt.assert_allclose = print",
    "setattr on a module": "import math\nsetattr(math, 'isclose', lambda *a, **k: True)",
    "builtins module": "import builtins\nbuiltins.abs = lambda x: 0",
    "__builtins__": "__builtins__.isinstance = lambda *a: True",
    "rebind a builtin": "def isinstance(*args):\n    return True",
    "rebind AssertionError": "AssertionError = Warning",
    "custom exception handler": "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
    "input transformer": "ip = get_ipython()\nip.input_transformers_post.append(lambda lines: [])",
    "IPython import": "from IPython import get_ipython\nget_ipython().events.register('pre_run_cell', print)",
    "excepthook": "import sys\nsys.excepthook = lambda *a: None",
    "trace": "import sys\nsys.settrace(lambda *a: None)",
    "modules": "import sys\nsys.modules['torch'].allclose = lambda *a, **k: True",
    "exec": "exec('import builtins; builtins.abs = lambda x: 0')",
    "eval": "eval(compile('1', 'x', 'eval'))",
    "dynamic import": "m = __import__('builtins')",
    "globals": "globals()['assert_close'] = lambda *a: None",
    "frames": "import inspect\ninspect.currentframe().f_back.f_globals.clear()",
    "test helpers": "from course_utils import testing\ntesting.assert_close = lambda *a, **k: None",
    "custom exception handler via __main__": "import __main__\n"
                                             "__main__.get_ipython().set_custom_exc((Exception,), print)",
    "read solutions": "print(open('../../../solutions/01/01.ipynb').read())",
    "read gradebook": "data = open('/course/gradebook.db', 'rb').read()",
    "shell": "!cat ../../../solutions/*/*.ipynb",
    "run magic": "%run ../../../solutions/x.py",
    "subprocess": "import subprocess\nsubprocess.run(['ls', '..'])",
    "os.system": "import os\nos.system('ls ..')",
    "torch function mode": "from torch.overrides import TorchFunctionMode",
    "torch internals": "import torch\ntorch._C._disabled_torch_function_impl",
    "subclass escape": "().__class__.__bases__[0].__subclasses__()",
    "mock": "from unittest import mock\nmock.patch('torch.allclose', return_value=True).start()",
}


@pytest.mark.parametrize("name", LEGIT)
def test_ordinary_student_code_is_not_flagged(name):
    assert scan_source(LEGIT[name]) == []


@pytest.mark.parametrize("name", CHEATS)
def test_interference_is_flagged_with_a_line_and_a_reason(name):
    findings = scan_source(CHEATS[name])
    assert findings, f"not flagged: {CHEATS[name]!r}"
    assert all(line >= 1 and reason for line, reason in findings)


def test_no_solution_notebook_is_flagged():
    notebooks = sorted(ROOT.glob("solutions/*/*.ipynb"))
    assert notebooks
    for path in notebooks:
        findings = scan_notebook(nbformat.read(path, as_version=4))
        assert findings == [], f"{path.name}: {[str(f) for f in findings]}"


def test_only_cells_a_student_can_change_are_scanned():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import builtins", metadata={"nbgrader": {"grade_id": "t", "grade": True,
                                                                            "solution": False, "locked": True}}),
        nbformat.v4.new_code_cell("exec('1')", metadata={"nbgrader": {"grade_id": "answer", "solution": True}}),
        nbformat.v4.new_code_cell("eval('1')"),
        nbformat.v4.new_markdown_cell("exec(...)"),
    ])
    assert [label for label, _ in student_cells(nb)] == ["answer", "added cell #3"]
    assert [(f.cell, f.reason) for f in scan_notebook(nb)] == [("answer", "calls exec()"),
                                                               ("added cell #3", "calls eval()")]


def test_false_positive_rate_report(capsys):
    """Prints the measured rates that the README reports."""
    cells = [src for path in ROOT.glob("solutions/*/*.ipynb")
             for _, src in student_cells(nbformat.read(path, as_version=4))] + list(LEGIT.values())
    flagged = sum(bool(scan_source(src)) for src in cells)
    caught = sum(bool(scan_source(src)) for src in CHEATS.values())
    with capsys.disabled():
        print(f"\ntamper detection: {flagged}/{len(cells)} legitimate cells flagged, "
              f"{caught}/{len(CHEATS)} interfering cells caught")
    assert flagged == 0 and caught == len(CHEATS)


def test_using_what_the_notebook_shows_is_not_flagged():
    assert scan_source("from course_utils.testing import trace, assert_close\nprint(trace([], None, []))") == []
    assert scan_source("from course_utils import testing as T\nT.assert_close(1.0, 1.0)") == []


def test_a_cell_too_deep_to_analyse_is_held_not_a_crash():
    findings = scan_source("x = " + " + ".join(["1"] * 20_000))
    assert findings and "could not be checked" in findings[0][1]


def test_advisory_names_are_listed_without_holding():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def conv(x, w):\n    return F.conv2d(x, w)",
                                  metadata={"nbgrader": {"grade_id": "conv", "solution": True}})])
    findings = scan_notebook(nb, advisory={"conv": {"conv2d"}})
    assert [(f.cell, f.line, f.hold) for f in findings] == [("conv", 2, False)]
    assert "conv2d" in findings[0].reason
