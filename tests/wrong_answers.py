"""For each assignment, plausible wrong answers (grade id -> replacement cell source).

The grading round trip requires an entry for every assignment: a submission with these answers must
score strictly between zero and full marks.
"""

WRONG_ANSWERS: dict[str, dict[str, str]] = {}
