"""dl-miniprojects course package: data, training protocol, plots and the ``course`` command.

Both the reference solutions and the students' code import from here; nothing in this package is a
student task.
"""

__version__ = "0.1.0"
