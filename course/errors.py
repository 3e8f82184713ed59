"""Errors the kit raises on bad input. The ``course`` command prints their message, never a traceback."""


class CourseError(Exception):
    """A problem the user can fix; the message says what went wrong and what to do."""


class DataError(CourseError):
    """Missing, corrupt or insufficient data."""
