"""Executing a student's notebook inside the sandbox, for nbgrader's ``autograde``.

:class:`SandboxedExecute` takes the place of nbgrader's ``Execute`` preprocessor in ``Autograde``
(``c.Autograde.autograde_preprocessors`` in the course's ``nbgrader_config.py``). Everything else of ``nbgrader
autograde`` — restoring the locked and hidden-test cells from the gradebook, scoring the grade cells, writing the
gradebook — stays nbgrader's own and runs in the trusted process. Only the execution moves: the notebook and the
student's files of that assignment are copied to a private folder, and nbgrader's own ``Execute`` runs there
inside bubblewrap (``python -P -m autograder.sandbox.notebook IN OUT``: no folder of the submission on its
``sys.path``), under the worker's caps, with ``NBGRADER_EXECUTION=autograde`` set (the kit's ``course run`` then
trains for a few seconds only).

The test cells never run in the student's kernel (:mod:`.checks`): the kernel's copy has a capture cell in each
test cell's place, which reports the values the test reads; the test's assertions, from the gradebook, run here on
those values. What comes back is read as data: the outputs of the student's own cells, and the captures.

A notebook that does not finish within ``notebook_timeout`` seconds gets an error output in each grade cell (they
score 0), as nbgrader does for a cell that times out. Where ``$AUTOGRADER_NOTEBOOK_REPORT`` names a file (``autograder
grade --nbgrader`` sets it), the signs of a forged capture are written there as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Unicode

from autograder.notebooks import checks
from course.handin import copy_files, tree_files

IN, OUT = ".grading-input.ipynb", ".grading-output.ipynb"
# PYTHONSAFEPATH: the kernel starts (ipykernel, IPython) with no folder of the submission on sys.path
KERNEL_ENV = {"NBGRADER_EXECUTION": "autograde", "PYTHONSAFEPATH": "1", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
              "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib"}


def failed(cell: NotebookNode, message: str, timed_out: bool = False) -> None:
    cell.outputs = [nbformat.v4.new_output("error", ename="NotebookTimeoutError" if timed_out else "NotebookError",
                                           evalue=message, traceback=[message])]


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, run inside the kit's sandbox (``sandbox``: ``auto``, ``require`` or ``off``)."""

    sandbox = Unicode("require", help="run the notebook in bubblewrap: auto, require or off").tag(config=True)
    notebook_timeout = Float(300.0, help="seconds for the whole notebook").tag(config=True)
    memory = Unicode("4G", help="memory cap of the notebook's kernel and its processes").tag(config=True)

    def preprocess(self, nb, resources):
        from autograder.sandbox import procs
        from autograder.sandbox.judge import Launch, Sandbox
        from autograder.sandbox.limits import Limits, parse_size

        folder = Path(resources["metadata"]["path"]).resolve()
        sandbox = Sandbox.choose(self.sandbox, Limits(memory=parse_size(self.memory)))
        with tempfile.TemporaryDirectory(prefix="autograder-notebook-") as tmp:
            copy = Path(tmp) / folder.name
            copy_files(folder, [f for f in tree_files(folder) if str(f) not in (IN, OUT)], copy)
            launch = Launch.prepare(sandbox, copy, env=KERNEL_ENV, hide_data=False)  # the notebook loads MNIST
            inside = f"{launch.root}/{folder.name}"
            kernel = checks.kernel_notebook(nb, inside, gradebook_sources(resources))
            (copy / kernel.capture_name).unlink(missing_ok=True)
            nbformat.write(kernel.notebook, copy / IN)
            command = launch.command([sys.executable, "-P", "-m", "autograder.sandbox.notebook", f"{inside}/{IN}",
                                      f"{inside}/{OUT}", "--timeout", str(self.timeout)])
            proc = procs.start(command, env=launch.popen_env, cwd=str(copy), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **launch.popen_kwargs)
            problem, timed_out = "", False
            try:
                output, timed_out = procs.communicate(proc, self.notebook_timeout)
                if timed_out:
                    problem = f"the notebook did not finish within {self.notebook_timeout:g} s"
                elif proc.returncode != 0:
                    problem = f"the notebook's execution stopped (exit status {proc.returncode})"
                    self.log.warning("%s:\n%s", problem, output.decode(errors="replace")[-2000:])
            finally:
                for escaped in launch.close():  # as a student uid: every process of the uid is gone first
                    problem = problem or f"a process of the notebook outlived the grader's attempts to stop it ({escaped})"
            executed = None
            if not problem:
                try:
                    executed = nbformat.read(str(copy / OUT), as_version=4)
                except Exception as exc:  # noqa: BLE001 - anything unreadable is the student's problem
                    problem = f"the executed notebook could not be read back ({type(exc).__name__})"
            captures, suspicious = checks.read_captures(copy / kernel.capture_name, kernel)
        if executed is not None:
            executed.cells = executed.cells[kernel.offset:]
        merged = merge_outputs(nb, executed, problem, timed_out)
        if not problem and executed is not None and len(executed.cells) == len(nb.cells):
            for index, test in kernel.plans.items():
                merged.cells[index].outputs = checks.check(test, captures[index])
        report(suspicious)
        return merged, resources


def gradebook_sources(resources: dict) -> dict[str, str] | None:
    """The test cells' sources (hidden tests included) by grade id, from nbgrader's gradebook; None outside an
    ``nbgrader autograde`` (then the trusted notebook's cells, already restored by nbgrader, are used)."""
    info = resources.get("nbgrader") or {}
    if not all(info.get(k) for k in ("db_url", "assignment", "notebook")):
        return None
    from nbgrader.api import Gradebook

    with Gradebook(info["db_url"]) as gb:
        notebook = gb.find_notebook(info["notebook"], info["assignment"])
        return {cell.name: cell.source for cell in notebook.source_cells}


def report(suspicious: list[str]) -> None:
    """Append the signs of a forged capture to ``$AUTOGRADER_NOTEBOOK_REPORT`` (one JSON line per notebook)."""
    path = os.environ.get(checks.REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"forged": suspicious}) + "\n")


def merge_outputs(trusted: NotebookNode, executed: NotebookNode | None, problem: str,
                  timed_out: bool = False) -> NotebookNode:
    """The trusted notebook with the executed one's outputs; on a problem, every grade cell fails with it."""
    if executed is not None and len(executed.cells) == len(trusted.cells):
        for cell, done in zip(trusted.cells, executed.cells):
            if cell.cell_type == "code" and done.get("cell_type") == "code":
                cell.outputs = done.get("outputs", [])
                cell.execution_count = done.get("execution_count")
        return trusted
    problem = problem or "the executed notebook does not match the one sent"
    for cell in trusted.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            failed(cell, problem, timed_out)
    return trusted
