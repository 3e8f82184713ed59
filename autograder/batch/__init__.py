"""Grading a whole class: :mod:`.intake` (folders and archives → entries), :mod:`.runner` (grading processes, here
or on Dask), :mod:`.store` (SQLite, resumable), :mod:`.outputs` (CSV, feedback, Gradescope), :mod:`.class_report`
(report.html), :mod:`.publish` (all the outputs at once) and :mod:`.similarity` (copydetect). :mod:`.grade` ties
them together; the ``autograder grade`` command only parses its arguments."""
