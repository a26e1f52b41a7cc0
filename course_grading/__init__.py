"""Instructor-side grading tools: nbgrader extensions and helpers for hidden tests (no answers here)."""
