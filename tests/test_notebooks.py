"""The student notebooks: valid nbgrader source notebooks, and the SOLUTION notebooks run end to end (quick
settings, via nbclient, in the notebook's folder) with every visible and hidden check passing."""

from __future__ import annotations

import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.nbgraderformat import MetadataValidator

from autograder import release
from course.submission import KIT_ROOT

SOLUTIONS = KIT_ROOT / "solutions"
PROJECTS = ("project1", "project2")


def _notebook(project):
    path = SOLUTIONS / project / f"{project}.ipynb"
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    return path, nbformat.read(path, as_version=4)


def _nbg(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("project", PROJECTS)
def test_notebook_is_an_nbgrader_source(project):
    path, nb = _notebook(project)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)
    cells = nb.cells
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c.cell_type == "code"), \
        "commit the source notebook without outputs"
    graded = [c for c in cells if _nbg(c).get("grade")]
    assert any(c.cell_type == "code" and _nbg(c).get("points") for c in graded), "no autograded test cell"
    assert any(c.cell_type == "markdown" and _nbg(c).get("solution") for c in graded), "no manually graded answer"
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and _nbg(cell).get("grade"):
            assert cell.metadata["nbgrader"].get("locked"), f"test cell {cell.id} should be locked"
            assert index and _nbg(cells[index - 1]).get("solution"), f"test cell {cell.id} must follow an answer cell"
    assert any("QUICK = True" in c.source for c in cells), "a parameters cell sets QUICK = True"
    ids = [_nbg(c)["grade_id"] for c in cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade ids must be unique"


@pytest.mark.parametrize("project", PROJECTS)
def test_released_notebook_has_stubs_and_no_answers(project):
    path, nb = _notebook(project)
    released = nbformat.reads(release.strip_notebook(path.read_text(), str(path)), as_version=4)
    for before, after in zip(nb.cells, released.cells):
        if _nbg(before).get("solution"):
            assert "YOUR CODE HERE" in after.source or after.source == "YOUR ANSWER HERE"
        if _nbg(before).get("grade") and before.cell_type == "code":
            assert "HIDDEN" not in after.source and after.source.strip()


# project1's quick run trains three CNNs over 2 rounds: ~65-75 s on 2 shared cores, hence slow
@pytest.mark.parametrize("project", [pytest.param("project1", marks=pytest.mark.slow), "project2"])
def test_solution_notebook_runs(project, tmp_path):
    path, nb = _notebook(project)
    params = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "QUICK = True" in c.source)
    # papermill-style injected parameters: quick settings, results into tmp_path (never into solutions/)
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell(f"QUICK = True\nOUT = {str(tmp_path / 'results')!r}",
                                                         id="injected-parameters"))
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    print(f"{project}.ipynb ran in {elapsed:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    pngs = sorted((tmp_path / "results").rglob("*.png"))
    assert pngs, "the run wrote no figure"
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(shown) == len(pngs), "every figure is shown in the notebook"
    assert not (path.parent / "results").exists(), "the test must not write results into solutions/"
