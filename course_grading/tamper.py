"""Static checks of student-editable cells for code that interferes with grading.

A submission runs in the same kernel as its tests. Code that rebinds library or builtin functions,
touches IPython's execution machinery, reaches for files outside the submission, or executes code
built at run time can make failing tests pass without solving anything. Such cells are reported, per
cell and line, so the submission goes to manual review instead of collecting automatic points.
Ordinary student code (imports, helper functions, plotting, training loops, seeding, configuration
flags such as `torch.backends.cudnn.benchmark = True`) is not flagged.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

FORBIDDEN_MODULES = {
    "builtins": "imports the builtins module", "ctypes": "uses ctypes", "gc": "inspects the garbage collector",
    "inspect": "inspects live frames and objects", "importlib": "imports or reloads modules dynamically",
    "IPython": "uses IPython's machinery", "ipykernel": "uses the kernel's machinery",
    "subprocess": "runs other programs", "socket": "opens network connections", "urllib": "uses the network",
    "requests": "uses the network", "http": "uses the network", "shutil": "moves or deletes files",
    "unittest": "uses mocking/patching", "nbgrader": "touches nbgrader",
    "torch.overrides": "intercepts torch functions", "torch._C": "uses torch internals",
    "sys": None, "os": None,  # allowed, but see the attributes below
}
FORBIDDEN_ATTRIBUTES = {
    "sys.settrace", "sys.setprofile", "sys.excepthook", "sys.displayhook", "sys.modules", "sys._getframe",
    "sys.meta_path", "sys.path_hooks", "sys.stdout", "sys.stderr", "sys.exit",
    "os.system", "os.popen", "os.execv", "os.execve", "os.execl", "os.fork", "os.kill", "os.remove",
    "os.unlink", "os.rmdir", "os.rename", "os.replace", "os.chdir", "os.environ", "os.putenv",
}
DUNDER_ESCAPES = {"__builtins__", "__globals__", "__code__", "__closure__", "__subclasses__", "__bases__",
                  "__mro__", "__dict__", "__torch_function__", "__torch_dispatch__", "__import__", "__loader__"}
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr",
                 "breakpoint"}
SHELL_HOOKS = {"get_ipython", "set_custom_exc", "showtraceback", "_showtraceback", "run_cell", "events",
               "input_transformers_post", "ast_transformers", "user_ns", "displayhook", "excepthook"}
ALLOWED_MAGICS = {"matplotlib", "time", "timeit", "prun", "who", "whos", "pinfo", "pinfo2", "precision"}
# Builtins students commonly shadow at top level; rebinding any other builtin is reported.
SHADOWABLE_BUILTINS = {"input", "id", "sum", "max", "min", "iter", "next", "filter", "map", "format", "hash",
                       "dir", "help", "license", "copyright", "credits", "exit", "quit", "list", "dict", "set",
                       "bytes", "object", "round", "pow", "slice"}
PATH_FUNCTIONS = {"open", "Path", "listdir", "scandir", "walk", "glob", "iglob", "load", "loadtxt", "read_csv",
                  "fromfile", "read_text", "read_bytes", "imread"}
SUSPICIOUS_PATH = re.compile(r"(^/|^~|(^|[\\/])\.\.([\\/]|$)|solutions|gradebook|autograded|submitted|\.db$)")


@dataclass(frozen=True)
class Finding:
    cell: str
    line: int
    reason: str
    hold: bool = True  # False: advisory only (listed for the instructor, points not withheld)

    def __str__(self) -> str:
        return f"{self.cell}, line {self.line}: {self.reason}{'' if self.hold else ' (advisory)'}"


def _resolve(dotted: str):
    """The live object a dotted name refers to (importing its module), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 (any import failure means "unknown")
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # local name -> dotted module path it stands for
        self.findings: list[tuple[int, str]] = []
        self.depth = 0  # 0 = module level

    def flag(self, node: ast.AST, reason: str) -> None:
        self.findings.append((getattr(node, "lineno", 0), reason))

    def dotted(self, node: ast.AST) -> str | None:
        """`np.testing.assert_allclose` -> "numpy.testing.assert_allclose" when the root is an import."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def check_module(self, node: ast.AST, module: str) -> None:
        for name, reason in FORBIDDEN_MODULES.items():
            if reason and (module == name or module.startswith(name + ".")):
                self.flag(node, f"{reason} (import {module})")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(node, alias.name)
            local = alias.asname or alias.name.split(".")[0]
            self.aliases[local] = alias.name if alias.asname else local
            self.check_rebinding(node, local)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self.check_module(node, module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            self.check_module(node, full)
            if full in FORBIDDEN_ATTRIBUTES:
                self.flag(node, f"imports {full}")
            self.aliases[alias.asname or alias.name] = full
            self.check_rebinding(node, alias.asname or alias.name)

    def check_rebinding(self, node: ast.AST, name: str) -> None:
        if self.depth == 0 and hasattr(builtins, name) and name not in SHADOWABLE_BUILTINS:
            self.flag(node, f"rebinds the builtin `{name}`")

    def check_target(self, node: ast.AST, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(node, element)
        elif isinstance(target, ast.Name):
            self.check_rebinding(node, target.id)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            base = target if isinstance(target, ast.Attribute) else target.value
            dotted = self.dotted(base)
            if dotted is None:
                return
            if dotted in FORBIDDEN_ATTRIBUTES or any(dotted.startswith(a + ".") for a in FORBIDDEN_ATTRIBUTES):
                self.flag(node, f"changes {dotted}")
                return
            existing = _resolve(dotted)
            if callable(existing) or isinstance(existing, type(importlib)):
                self.flag(node, f"replaces library function {dotted}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_target(node, target)
        aliased = self.dotted(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
        if aliased and isinstance(_resolve(aliased), type(importlib)):
            for target in node.targets:  # `t = numpy.testing` makes t another name for that module
                if isinstance(target, ast.Name):
                    self.aliases[target.id] = aliased
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_target(node, node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_target(node, node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.check_target(node, target)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if hasattr(builtins, name) and name not in SHADOWABLE_BUILTINS:
                self.flag(node, f"rebinds the builtin `{name}` through `global`")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.check_rebinding(node, node.name)
        if node.name in DUNDER_ESCAPES:
            self.flag(node, f"defines {node.name}")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.check_rebinding(node, node.name)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in DUNDER_ESCAPES:
            self.flag(node, f"uses {node.id}")
        elif node.id == "get_ipython":
            self.flag(node, "uses IPython's shell object (get_ipython)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in DUNDER_ESCAPES:
            self.flag(node, f"uses .{node.attr}")
        elif node.attr in SHELL_HOOKS:
            self.flag(node, f"uses IPython's machinery (.{node.attr})")
        dotted = self.dotted(node)
        if dotted and (dotted in FORBIDDEN_ATTRIBUTES or dotted.startswith(("torch.overrides", "torch._C"))):
            self.flag(node, f"uses {dotted}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS:
            self.flag(node, f"calls {func.id}()")
        if name in PATH_FUNCTIONS:
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and SUSPICIOUS_PATH.search(arg.value):
                    self.flag(node, f"reads a path outside the submission ({arg.value!r})")
        self.generic_visit(node)


def _magic_findings(source: str) -> list[tuple[int, str]]:
    findings = []
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("!"):
            findings.append((number, "runs a shell command"))
        elif stripped.startswith("%"):
            magic = stripped.lstrip("%").split()[0] if stripped.lstrip("%") else ""
            if magic not in ALLOWED_MAGICS:
                findings.append((number, f"uses the %{magic} magic"))
    return findings


def _python_source(source: str) -> str:
    """The cell as Python: allowed magics and shell lines blanked (reported separately), others transformed."""
    lines = [("" if line.strip().startswith(("%", "!")) else line) for line in source.splitlines()]
    return TransformerManager().transform_cell("\n".join(lines))


def scan_source(source: str) -> list[tuple[int, str]]:
    """(line, reason) for every interfering construct in one cell's code."""
    findings = _magic_findings(source)
    try:
        tree = ast.parse(_python_source(source))
    except SyntaxError:
        return findings  # it will fail to run, which costs the student the points anyway
    except (RecursionError, MemoryError, ValueError) as error:
        return [*findings, (1, f"the cell could not be checked ({type(error).__name__}: "
                               "nested too deeply or too large)")]
    scanner = _Scanner()
    try:
        scanner.visit(tree)
    except (RecursionError, MemoryError) as error:
        scanner.flag(tree, f"the cell could not be checked ({type(error).__name__}: nested too deeply)")
    return sorted(set(findings + scanner.findings))


def named_uses(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) for every use of one of `names` as a name or an attribute (advisory checks)."""
    try:
        tree = ast.parse(_python_source(source))
        nodes = list(ast.walk(tree))
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return []
    found = set()
    for node in nodes:
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name in names:
            found.add((getattr(node, "lineno", 0), name))
    return sorted(found)


def student_cells(nb: NotebookNode) -> list[tuple[str, str]]:
    """(label, source) of the code cells a student may change: answer cells and cells they added.

    Locked and test cells are replaced by the instructor's version before grading, so their
    submitted text does not matter.
    """
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta and not meta.get("solution")):
            continue
        cells.append((meta.get("grade_id") or f"added cell #{index + 1}", cell.source))
    return cells


def scan_notebook(nb: NotebookNode, advisory: dict[str, set[str]] | None = None) -> list[Finding]:
    """Findings that hold a submission for review, and advisory ones: `advisory` maps an answer cell's
    grade id to names of PyTorch functions its part must not use (the judge checks that where it can)."""
    findings = []
    for label, source in student_cells(nb):
        try:
            findings += [Finding(label, line, reason) for line, reason in scan_source(source)]
        except Exception as error:  # noqa: BLE001 (the scan must never stop the batch)
            findings.append(Finding(label, 1, f"the cell could not be checked ({type(error).__name__})"))
        for line, name in named_uses(source, (advisory or {}).get(label, set())):
            findings.append(Finding(label, line, f"uses {name}, which this part asks you to write yourself", False))
    return findings
