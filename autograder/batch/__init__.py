"""Grading a whole class: :mod:`.intake` (folders and archives → entries), :mod:`.runner` (grading processes, here
or on Dask), :mod:`.store` (SQLite, resumable), :mod:`.outputs` (CSV, feedback, Gradescope) and
:mod:`.class_report` (report.html). The ``autograder grade`` command ties them together."""
