"""The grading suite: run it with  autograder check [PATH]  (or  python -m pytest autograder/suite --submission PATH)."""

pytest_plugins = ["autograder.plugin", "autograder.bench"]
