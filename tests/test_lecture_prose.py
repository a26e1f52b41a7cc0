"""Numbers in a lecture's prose come from the run: no measured number is typed into Markdown.

A lecture ships without outputs and may run on a GPU, with other seeds or library versions, so a number
typed into the text can contradict the one printed under it. The rule, checked per Markdown line of every
`lectures/*.pct.py`: a **decimal number** (`0.92`, `1e-7`) or a **percentage** (`30 %`, `98%`) outside
`$math$`, `$$display math$$`, `code` and link targets needs a marker at the end of its line:

- `<!-- quoted -->`: the number is quoted from the literature or the lecture notes;
- `<!-- asserted -->`: the line states a range that the next code cell checks with `assert`.

Everything else is printed by the code (an f-string, or `IPython.display.Markdown` built from the values).
Settings (a learning rate, a momentum) are not measurements: write them as math or code (`lr=0.05`).
Integers are not checked ("30 mistakes made" is caught in review, not here): too many integers in prose are
counts, sizes and years, and a rule with false alarms would be ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted(ROOT.glob("lectures/*.pct.py"))
MARKERS = ("<!-- quoted -->", "<!-- asserted -->")

# Spans whose numbers are not prose: fenced code, display and inline math, code, link targets, URLs, comments.
_NOT_PROSE = re.compile(r"```.*?```|\$\$.*?\$\$|(?<!\\)\$.+?(?<!\\)\$|`[^`\n]*`|\]\([^)\n]*\)|https?://\S+|<!--.*?-->",
                        re.DOTALL)
_NUMBER = re.compile(r"""
    (?<![\w.])(?:\d+(?:[.,]\d+)?\s?%          # a percentage: 30 %, 98%, 15.3 %
              |\d*\.\d+(?:[eE][-+]?\d+)?        # a decimal: 0.92, .5, 1.2e-3
              |\d+[eE][-+]?\d+)                 # scientific notation: 1e-7
    (?![\w.]*\d)                                # not a version or a section number (2.14.1, 3.1.2)
    """, re.VERBOSE)
# Section numbers are not measurements: "### 3.1 Linear regression", "Section 3.2", "§4.1".
_SECTION = re.compile(r"^\s*#{1,6}\s+\d+(?:\.\d+)*"
                      r"|(?:[Ss]ections?|§)\s*\d+(?:\.\d+)*(?:\s*(?:,|and|or|–|-)\s*\d+(?:\.\d+)*)*")


@dataclass(frozen=True)
class Finding:
    line: int       # 1-based line in the .pct.py source
    numbers: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return f"  line {self.line}: {', '.join(repr(n) for n in self.numbers)} in: {self.text.strip()}"


def _blank(match: re.Match) -> str:
    """Replace a span by spaces, keeping its newlines so that line numbers stay put."""
    return re.sub(r"[^\n]", " ", match.group(0))


def numbers_in_prose(markdown: str) -> list[tuple[int, list[str], str]]:
    """(0-based line index, unmarked numbers, line) for every Markdown line with a decimal or a percentage."""
    lines = markdown.split("\n")
    prose = [_SECTION.sub(_blank, line) for line in _NOT_PROSE.sub(_blank, markdown).split("\n")]
    found = []
    for index, (line, masked) in enumerate(zip(lines, prose)):
        numbers = [m.group(0).strip() for m in _NUMBER.finditer(masked)]
        if numbers and not line.rstrip().endswith(MARKERS):
            found.append((index, numbers, line))
    return found


def _source_line_numbers(source_lines: list[str], cell_lines: list[str], start: int) -> tuple[list[int], int]:
    """Where each line of a Markdown cell sits in the `# `-commented percent source, searching from `start`."""
    numbers = []
    for line in cell_lines:
        commented = f"# {line}".rstrip() if line.strip() else "#"
        while start < len(source_lines) and source_lines[start].rstrip() != commented:
            start += 1
        numbers.append(start + 1)
        start += 1
    return numbers, start


def check_lecture(path: Path) -> tuple[list[Finding], list[Finding]]:
    """(unmarked numbers, `asserted` lines whose next code cell has no assert) in one lecture source."""
    notebook = jupytext.read(path)
    source_lines = path.read_text(encoding="utf-8").split("\n")
    unmarked, unasserted, cursor = [], [], 0
    for position, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        cell_lines = cell.source.split("\n")
        line_numbers, cursor = _source_line_numbers(source_lines, cell_lines, cursor)
        for index, numbers, line in numbers_in_prose(cell.source):
            unmarked.append(Finding(line_numbers[index], tuple(numbers), line))
        next_code = next((c.source for c in notebook.cells[position + 1:] if c.cell_type == "code"), "")
        if not re.search(r"^\s*assert\b", next_code, re.MULTILINE):
            unasserted += [Finding(line_numbers[i], (), line) for i, line in enumerate(cell_lines)
                           if line.rstrip().endswith(MARKERS[1])]
    return unmarked, unasserted


HOW_TO_FIX = f"""
A number typed into a lecture's Markdown goes stale: the notebook runs on other machines, devices, seeds
and library versions, and its printed output can then contradict the text. Fix each line in one of two ways:
  1. a measured result: print it from the code cell that measures it, e.g.
     print(f"test accuracy {{acc:.1%}}"), or display(Markdown(f"... {{acc:.1%}} ...")); or state a range
     in the prose ("above 90 %") and `assert` that range in the next code cell, and end the line with
     {MARKERS[1]};
  2. a number quoted from the literature or the lecture notes: end the line with {MARKERS[0]}.
A setting rather than a result (a learning rate, a momentum) belongs in math or code: $\\rho = 0.9$, `lr=0.05`."""


@pytest.mark.parametrize("lecture", LECTURES, ids=[p.name for p in LECTURES])
def test_no_measured_number_is_typed_into_a_lecture(lecture: Path):
    unmarked, unasserted = check_lecture(lecture)
    problems = []
    if unmarked:
        problems.append(f"{lecture.relative_to(ROOT)}: numbers in prose without a marker:\n"
                        + "\n".join(map(str, unmarked)) + "\n" + HOW_TO_FIX)
    if unasserted:
        problems.append(f"{lecture.relative_to(ROOT)}: lines marked {MARKERS[1]} but the next code cell has no "
                        f"`assert` checking their range:\n" + "\n".join(map(str, unasserted)))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def test_lectures_are_found():
    assert len(LECTURES) >= 6


@pytest.mark.parametrize("text, flagged", [
    ("The test accuracy is 0.92 after two epochs.", ["0.92"]),
    ("Logistic regression reaches about 92 % and the MLP 98%.", ["92 %", "98%"]),
    ("The difference is 1e-7, float32 rounding.", ["1e-7"]),
    ("Between 15.3 % and .5 of it.", ["15.3 %", ".5"]),
    ("AlexNet had 15.3 % top-5 error. <!-- quoted -->", []),
    ("Accuracy stays above 90 %. <!-- asserted -->", []),
    ("With $\\rho = 0.9$ and `lr=0.05` and $$x = 1.5$$ nothing here counts.", []),
    ("### 3.1 Linear regression", []),
    ("As Sections 3.1 and 3.2 showed, torch 2.14.1 is installed.", []),
    ("See [the paper](https://arxiv.org/abs/1412.6980) for 30 epochs of 1500 examples.", []),
    ("An escaped \\$ sign costs 2.5 here.", ["2.5"]),
])
def test_the_rule_flags_decimals_and_percentages_in_prose_only(text, flagged):
    found = numbers_in_prose(text)
    assert [n for _, numbers, _ in found for n in numbers] == flagged


def test_display_math_over_several_lines_is_not_prose():
    text = "Before\n$$\n\\hat y = 0.5\\,x\n$$\nafter 0.25 of it"
    assert [(i, n) for i, n, _ in numbers_in_prose(text)] == [(4, ["0.25"])]


def test_findings_name_the_source_line_and_an_asserted_line_needs_an_assert(tmp_path):
    lecture = tmp_path / "99_demo.pct.py"
    lecture.write_text("# %% [markdown]\n# # Title\n#\n# It reached 0.97 accuracy.\n\n"
                       "# %% [markdown]\n# It stays above 90 %. <!-- asserted -->\n\n"
                       "# %%\nprint(1)\n", encoding="utf-8")
    unmarked, unasserted = check_lecture(lecture)
    assert [(f.line, f.numbers) for f in unmarked] == [(4, ("0.97",))]
    assert [f.line for f in unasserted] == [7]
    lecture.write_text(lecture.read_text().replace("print(1)", "assert 0.9 < 1"), encoding="utf-8")
    assert check_lecture(lecture)[1] == []
