"""Errors the kit raises on bad input. The ``course`` and ``autograder`` commands print their message, never a
traceback."""


class CourseError(Exception):
    """A problem the user can fix; the message says what went wrong and what to do."""


class DataError(CourseError):
    """Missing, corrupt or insufficient data."""


class SubmissionError(CourseError):
    """An implementation (the solutions, the skeletons, a student's folder) could not be found or imported."""

    file: str = ""  # the student's file at fault, where the grader knows it (``autograder/sandbox/worker.py`` sets it)
