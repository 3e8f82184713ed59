"""The wall between the grader and the student's code.

* :mod:`.judge` — the grading (pytest) process's side: :class:`~.judge.Worker` starts one worker process per
  project of a submission, sends probe calls, enforces each call's time limit, and turns every failure into a
  :class:`~.judge.StudentError`;
* :mod:`.worker` — the only process that imports and runs student code;
* :mod:`.probes` — what the worker runs on the student's code (it builds objects and returns plain data);
* :mod:`.wire` — the messages between the two (``torch.save`` / ``torch.load(weights_only=True)``).
"""
