"""Instructor-side grading tools (not part of the student package `course_utils`)."""
