"""dl-miniprojects autograder: the grading suite (pytest), the rubric, the runner and reports."""
