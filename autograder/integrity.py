"""Integrity of a grade (issue 21): what a submission may not do to the code that measures it, decided in the judge.

Three verdicts, each typed, each turned into the status :attr:`autograder.record.Status.INTEGRITY` (points withheld
for the instructor's review) or a note of kind :attr:`autograder.record.NoteKind.INTEGRITY` (flagged, grade
unchanged):

* **shadowing** (:func:`shadowing`): the project folder ships a package or module named like one the kit trusts
  (``course/``, ``torch.py``…). The worker never loads it in the kit's place (it imports the kit first and puts the
  project folder last on ``sys.path``, and Python starts with ``-P``), so the grade is unchanged; the note says the
  submission tried.
* **rules** (:mod:`autograder.rules`): a file of the project breaks the static allow-list. The rule task fails
  and every task of that project is withheld (:func:`withheld`).
* **tripwire** (the worker's reply field ``"integrity"``): gradient tracking was on, or a tensor with a graph came
  back, during a call into the student's code (project 2); or the student's code changed torch (a rebound
  ``Tensor.argmax``, ``nn.Module.__call__``…; :mod:`autograder.sandbox.pristine`, both projects). Every task of
  that project is withheld.
* **accuracy not earned** (project 1, decided by the suite): a net far above chance before training, or one that
  keeps its accuracy with its parameters shuffled (``thresholds.P1_UNTRAINED_LIMIT``, ``P1_REPLACED_LIMIT``): its
  accuracy task is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from autograder import rubric
from autograder.record import Status
from autograder.rules import Violation, breaches

# the top-level modules the worker and the probes rely on; a submission's file or folder of that name is refused
KIT_NAMES = frozenset({"course", "autograder", "torch", "numpy", "pytest", "_pytest", "functorch", "torchgen",
                       "sitecustomize", "usercustomize", "typing_extensions"})
NATIVE_SUFFIXES = (".so", ".pyd")


def module_name(entry: Path) -> str | None:
    """The top-level module name a folder entry would provide on ``sys.path`` (None for other files)."""
    if entry.is_dir():
        return entry.name
    if entry.suffix == ".py":
        return entry.stem
    if entry.suffix in NATIVE_SUFFIXES:
        return entry.name.split(".")[0]
    return None


def shadowing(folder: Path) -> list[str]:
    """The entries of a project folder named like a module the kit trusts (``course/``, ``torch.py``), sorted."""
    if not folder.is_dir():
        return []
    return sorted(entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir()
                  if module_name(entry) in KIT_NAMES)


def shadowing_note(project: str, names: list[str]) -> str:
    them = "them" if len(names) > 1 else "it"
    return (f"{project} ships {', '.join(names)}, named like the kit's own packages: the grader ignored {them} "
            "(the kit's copy is always loaded); flagged for review")


@dataclass(frozen=True)
class Verdict:
    """Why a project's points are withheld: the task that decided it (a rule task, or none for the tripwire) and
    the sentence the feedback shows."""

    project: str
    reason: str
    rule_task: str = ""

    def message(self) -> str:
        see = f"; see {self.rule_task}" if self.rule_task else ""
        return f"the points of {self.project} are withheld for your instructor's review: {self.reason}{see}"


def listing(violations: list[Violation], shown: int = 8) -> str:
    """The violations, one per line, at most ``shown`` of them."""
    lines = [str(v) for v in violations[:shown]]
    if len(violations) > shown:
        lines.append(f"... and {len(violations) - shown} more")
    return "\n".join(lines)


def rule_task(project: str) -> str:
    return "p1.rules" if project == "project1" else "p2.rules"


def rules_verdict(folder: Path, project: str) -> Verdict | None:
    """A verdict when a file of the project breaks the static rules (:mod:`autograder.rules`), else None."""
    found = breaches(folder, project)
    if not found:
        return None
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return Verdict(project, f"{first}{more}", rule_task(project))


def withholds(verdict: Verdict | None, task_id: str) -> bool:
    """Whether ``verdict`` withholds the points of ``task_id``: every task of its project but the rule task (which
    fails on its own and names every violation)."""
    return (verdict is not None and rubric.BY_ID[task_id].project == verdict.project
            and task_id != verdict.rule_task)


def tripwire_verdict(project: str, seen: str) -> Verdict:
    """The verdict of the worker's run-time checks: ``seen`` is its first sighting, in words — autograd during a
    call (:mod:`autograder.sandbox.tripwire`, project 2) or torch changed by the student's code
    (:mod:`autograder.sandbox.pristine`, both projects)."""
    return Verdict(project, f"the grader saw {seen}")


def withhold_results(results: list, verdicts: dict) -> list:
    """``results`` (:class:`autograder.record.CaseResult`) with every case of a withheld project's tasks (its rule
    task aside) turned into ``integrity``: the cases that ran before the tripwire fired included."""
    out = []
    for case in results:
        verdict = verdicts.get(rubric.BY_ID[case.task].project) if case.task in rubric.BY_ID else None
        if verdict is not None and withholds(verdict, case.task) and case.status is not Status.INTEGRITY:
            header = f"[{case.task}] {rubric.BY_ID[case.task].description}"
            case = replace(case, status=Status.INTEGRITY,
                           feedback=f"{header}\n  {Status.INTEGRITY.label}: {verdict.message()}")
        out.append(case)
    return out


# The accuracy tasks' test images get Gaussian noise of this standard deviation (0-255 scale; clipped), drawn from
# the data seed: an exact copy of an image the sandbox can read (the data set's pools) never reaches the student's
# net, and a trained convnet does not notice (measured on the reference and the plain fixture: at most 1.5 points
# of accuracy, far inside the thresholds' margins; docs/rubric.md).
NOISE_SIGMA = 16.0


def perturb(images, seed: int):
    """``images`` (float, 0-255) plus seeded Gaussian noise of :data:`NOISE_SIGMA`, clipped to 0-255."""
    import torch

    generator = torch.Generator().manual_seed(int(seed) * 7919 + 1)
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype)
    return (images + NOISE_SIGMA * noise).clamp(0, 255)
