"""Autograded notebook tests checked outside the student's kernel (issue 25).

nbgrader runs a notebook's test cells in the student's own kernel, after the student's cells: an answer cell that
installs an IPython input transformer (blanking the later cells), shadows ``abs``/``all``/``sum`` or replaces the
kit's packages decides what the tests see. Here the kernel only *reports* values; the grader decides.

* In the copy of the notebook that runs in the kernel (:func:`kernel_notebook`), a kit **prologue** cell runs before
  every cell of the student's, and each autograded test cell is replaced by a **capture** cell,
  ``<capture function>(i)``. The prologue defines that function with every builtin it uses bound at that moment
  (shadowing ``repr`` or ``isinstance`` later changes nothing in it) and opens the capture file under a per-run
  random name (the nonce: nothing can be prepared for it in advance), for appending only.
* A capture serialises, as plain data (numbers, strings, lists, dicts, tensors as nested lists with their dtype),
  the values the test reads: the test's free names (:func:`plan`), plus the *facts* a test gathers from the
  student's objects — its top-level assignments to ``_``-names, such as the parameter count of each network
  (``_built = {...}``) — evaluated with the prologue's builtins on the names they read.
* After the kernel has finished, the test's assertions — nbgrader's own source of the cell (restored from the
  gradebook before execution, hidden tests included), never the student's — run in the grader's process
  (:func:`check`) on the decoded values, with Python's real builtins. A missing, blank or garbled capture gives the
  cell an error (0 points), as does a cell whose capture was recorded twice (a forged record beside the real one).

What a capture cannot say is whether the values are honest: the kernel is the student's (a cell can read the
prologue in IPython's input history, or list the folder), so a student who takes it over can write any values,
which is the same as writing those values as answers — the assertions still decide on them. A record written beside
the real one makes that cell score 0.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat.notebooknode import NotebookNode

REPORT_ENV = "AUTOGRADER_NOTEBOOK_REPORT"  # where nbgrader's process writes the signs of forged captures
CAPTURE_LIMIT = 16 * 1024 * 1024   # bytes of the capture file read back (a capture is a few kB)
TRUSTED_MODULES = frozenset({"math", "torch", "numpy"})  # a test may read these names as modules, bound here
TAGS = ("__tensor__", "__tuple__", "__set__", "__float__", "__module__", "__opaque__")


def is_test(cell: NotebookNode) -> bool:
    """An autograded test: a graded code cell that is not an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


@dataclass
class Plan:
    """How one test cell is split: the facts gathered in the kernel, the names captured, the checks run here."""

    grade_id: str
    source: str
    names: list[str] = field(default_factory=list)     # free names of the checks, captured from the kernel
    gather: str = ""                                     # top-level `_name = ...` statements, run in the kernel
    gathered: list[str] = field(default_factory=list)  # the names they bind, captured too
    gather_at: list[int] = field(default_factory=list)  # their places among the source's top-level statements
    error: str = ""                                      # the source does not parse: the cell scores 0


def _loads(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _stores(tree: ast.AST) -> set[str]:
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _is_gather(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) and t.id.startswith("_")
                                                for t in stmt.targets)


def plan(grade_id: str, source: str) -> Plan:
    """Split a test cell's source (see the module's docstring); the checks keep the whole source's line numbers."""
    result = Plan(grade_id, source)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        result.error = f"SyntaxError: {exc}"
        return result
    gather: list[ast.stmt] = []
    bound_here: set[str] = set()
    for at, stmt in enumerate(tree.body):
        # a gathered fact reads only the kernel's names, never one the checks bound before it
        if _is_gather(stmt) and not (_loads(stmt) & bound_here):
            gather.append(stmt)
            result.gather_at.append(at)
            continue
        bound_here |= _stores(stmt)
    result.gather = "\n".join(ast.unparse(s) for s in gather)
    result.gathered = sorted({t.id for s in gather for t in s.targets})  # type: ignore[attr-defined]
    checks = [s for s in tree.body if s not in gather]
    module = ast.Module(body=checks, type_ignores=[])
    free = _loads(module) - _stores(module) - set(result.gathered) - set(dir(builtins))
    result.names = sorted(free)
    return result


# ------------------------------------------------------------------------------------------------ the kernel side

# Runs in the kernel before any cell of the student's. Everything the capture uses is bound here, at that moment.
PROLOGUE = '''\
def {factory}(_spec, _path):
    import builtins as _bi
    import sys as _sys
    _b = dict(_bi.__dict__)
    _ns = globals()
    _modules = _sys.modules
    _isinstance, _type, _repr, _str, _int, _float, _bool, _len = (
        _b["isinstance"], _b["type"], _b["repr"], _b["str"], _b["int"], _b["float"], _b["bool"], _b["len"])
    _list, _tuple, _dict, _set, _frozenset, _exec, _getattr, _BaseException = (
        _b["list"], _b["tuple"], _b["dict"], _b["set"], _b["frozenset"], _b["exec"], _b["getattr"],
        _b["BaseException"])
    _module_type = _type(_sys)
    _os = _modules["os"]  # imported by the kernel before any cell: appends, so no record is ever overwritten
    _out = _os.fdopen(_os.open(_path, _os.O_WRONLY | _os.O_CREAT | _os.O_EXCL | _os.O_APPEND, 0o600), "a",
                      encoding="utf-8")

    def _encode(v, count, depth):
        count[0] += 1
        if count[0] > 2000000 or depth > 32:
            raise ValueError("too large to capture")
        if v is None or v is True or v is False:
            return v
        if _isinstance(v, _bool):
            return _bool(v)
        if _isinstance(v, _int):
            return _int(v)
        if _isinstance(v, _float):
            x = _float(v)
            return x if x == x and x not in (1e999, -1e999) else ("__float__", _repr(x))
        if _isinstance(v, _str):
            return _str(v)
        if _isinstance(v, _list):
            return [_encode(x, count, depth + 1) for x in v]
        if _isinstance(v, _tuple):
            return ("__tuple__", _tuple([_encode(x, count, depth + 1) for x in v]))  # hashable: a dict key
        if _isinstance(v, (_set, _frozenset)):
            return ("__set__", _tuple([_encode(x, count, depth + 1) for x in v]))
        if _isinstance(v, _dict):
            return {{_encode(k, count, depth + 1): _encode(x, count, depth + 1) for k, x in v.items()}}
        if _isinstance(v, _module_type):
            return ("__module__", _str(_getattr(v, "__name__", "")))
        torch = _modules.get("torch")
        if torch is not None and _isinstance(v, torch.Tensor):
            t = v.detach().cpu()
            count[0] += t.numel()
            if count[0] > 2000000:
                raise ValueError("too large to capture")
            return ("__tensor__", _str(t.dtype).replace("torch.", ""), t.tolist())
        return ("__opaque__", _str(_type(v).__name__))

    def capture(index):
        grade_id, names, gather, gathered = _spec[index]
        record = {{"index": index, "grade_id": grade_id, "values": {{}}, "missing": [], "error": ""}}
        try:
            scope = {{"__builtins__": _b}}
            if gather:
                for name in _spec_free[index]:
                    if name in _ns:
                        scope[name] = _ns[name]
                _exec(gather, scope)
            count = [0]
            for name in names:
                if name in _ns:
                    record["values"][name] = _encode(_ns[name], count, 0)
                else:
                    record["missing"].append(name)
            for name in gathered:
                record["values"][name] = _encode(scope[name], count, 0)
            line = _repr(record)
        except _BaseException as exc:
            line = _repr({{"index": index, "grade_id": grade_id, "values": {{}}, "missing": [],
                          "error": _str(_type(exc).__name__) + ": " + _str(exc)[:300]}})
        _out.write(line + "\\n")
        _out.flush()

    _spec_free = [_frozenset(f) for f in {free!r}]
    return capture


{function} = {factory}({spec!r}, {path!r})
del {factory}
'''


@dataclass
class KernelCopy:
    """The notebook sent to the kernel, and what reading its captures back needs."""

    notebook: NotebookNode
    plans: dict[int, Plan]           # index of the test cell in the trusted notebook → its plan
    capture_name: str                # the capture file's name, in the notebook's folder
    offset: int = 1                  # the prologue cell before the notebook's own cells


def kernel_notebook(trusted: NotebookNode, folder: str, sources: dict[str, str] | None = None) -> KernelCopy:
    """The copy of ``trusted`` that runs in the kernel: the prologue first, each test cell replaced by a capture.

    ``folder`` is the notebook's folder as the kernel sees it; ``sources`` the tests' sources by grade id (from the
    gradebook; the trusted notebook's own cell source otherwise).
    """
    import nbformat

    nonce = secrets.token_hex(16)
    factory, function = f"_kit_factory_{nonce[:12]}", f"_kit_capture_{nonce[16:]}"
    capture_name = f".autograder-capture-{nonce}"
    copy = nbformat.from_dict(nbformat.v4.new_notebook(metadata=dict(trusted.metadata)))
    plans: dict[int, Plan] = {}
    spec: list[tuple[str, list[str], str, list[str]]] = []
    free: list[list[str]] = []
    cells = []
    for index, cell in enumerate(trusted.cells):
        if not is_test(cell):
            cells.append(nbformat.from_dict(dict(cell)))
            continue
        grade_id = cell.metadata["nbgrader"].get("grade_id", f"cell-{index}")
        found = plan(grade_id, (sources or {}).get(grade_id, cell.source))
        plans[index] = found
        spec.append((grade_id, found.names, found.gather, found.gathered))
        free.append(sorted(_loads(ast.parse(found.gather)) - set(dir(builtins))) if found.gather else [])
        cells.append(nbformat.v4.new_code_cell(f"{function}({len(spec) - 1})", id=cell.get("id") or None,
                                               metadata={"nbgrader": dict(cell.metadata["nbgrader"])}))
    prologue = PROLOGUE.format(factory=factory, function=function, spec=spec, free=free,
                               path=f"{folder}/{capture_name}")
    copy.cells = [nbformat.v4.new_code_cell(prologue, id=f"kit-{nonce[:8]}")] + cells
    return KernelCopy(copy, plans, capture_name)


# ------------------------------------------------------------------------------------------------ the grader side

class Opaque:
    """A value the kernel could not send as data (an object of the student's): any use of it fails the test."""

    def __init__(self, kind: str) -> None:
        self._kind = kind

    def __repr__(self) -> str:
        return f"<a {self._kind} from the notebook, not plain data>"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self!r} cannot be checked")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __len__ = __iter__ = _refuse
    __float__ = __int__ = __index__ = __call__ = __getitem__ = __contains__ = _refuse
    __hash__ = None  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._refuse()


def decode(value: Any) -> Any:
    """A captured value as Python and torch objects."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return {decode(k): decode(v) for k, v in value.items()}
    if isinstance(value, tuple) and value and value[0] in TAGS:
        tag = value[0]
        if tag == "__tensor__":
            import torch

            dtype = getattr(torch, str(value[1]), None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"not a dtype: {value[1]!r}")
            return torch.tensor(value[2], dtype=dtype)
        if tag == "__tuple__":
            return tuple(decode(v) for v in value[1])
        if tag == "__set__":
            return {decode(v) for v in value[1]}
        if tag == "__float__":
            return float(value[1])
        if tag == "__module__" and value[1] in TRUSTED_MODULES:
            return importlib.import_module(value[1])
        return Opaque(f"module {value[1]}" if tag == "__module__" else str(value[1]))
    if isinstance(value, tuple):
        return tuple(decode(v) for v in value)
    return value


@dataclass
class Capture:
    """What the kernel reported for one test cell (``values`` decoded), or why nothing usable came back."""

    values: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    error: str = ""       # the capture itself failed in the kernel (a gathered fact raised, a value too large)
    problem: str = ""     # no capture, or an unusable one: the cell scores 0
    forged: bool = False  # a record no capture cell wrote (twice for one cell, another cell's, not parseable)


def read_captures(path: Path, copy: KernelCopy) -> tuple[dict[int, Capture], list[str]]:
    """Each test cell's capture from the file the kernel wrote, and the signs of forgery found in it."""
    by_order = sorted(copy.plans)
    found: dict[int, Capture] = {i: Capture(problem="no capture came back from the kernel (the cell was not run, "
                                                   "or something in the notebook stopped it)") for i in by_order}
    seen: dict[int, int] = {}
    suspicious: list[str] = []
    try:
        with open(path, "rb") as f:
            data = f.read(CAPTURE_LIMIT + 1)
    except OSError:
        return found, suspicious
    if len(data) > CAPTURE_LIMIT:
        suspicious.append(f"the captures exceed {CAPTURE_LIMIT} bytes")
        data = data[:CAPTURE_LIMIT]
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            record = ast.literal_eval(line)
            index = record["index"]
            trusted = by_order[index]
            if record["grade_id"] != copy.plans[trusted].grade_id or not isinstance(record["values"], dict):
                raise ValueError("not this cell's record")
        except Exception:  # noqa: BLE001 - anything unreadable is a record no capture cell wrote
            suspicious.append(f"line {number} of the captures is not a capture record")
            continue
        seen[trusted] = seen.get(trusted, 0) + 1
        grade_id = copy.plans[trusted].grade_id
        if seen[trusted] > 1:
            suspicious.append(f"the capture of {grade_id} was recorded more than once")
            found[trusted] = Capture(problem=f"the capture of {grade_id} was recorded more than once: a cell of the "
                                             "notebook wrote a capture record", forged=True)
            continue
        try:
            expected = set(copy.plans[trusted].names) | set(copy.plans[trusted].gathered)
            values = {str(k): decode(v) for k, v in record["values"].items()}
            missing = [str(m) for m in record.get("missing", [])]
            if not set(values) <= expected:
                raise ValueError("names the test does not read")
            found[trusted] = Capture(values, missing, str(record.get("error", "")))
        except Exception as exc:  # noqa: BLE001 - garbled values
            suspicious.append(f"the capture of {grade_id} is garbled")
            found[trusted] = Capture(problem=f"the capture of {grade_id} is garbled ({type(exc).__name__})",
                                     forged=True)
    return found, suspicious


def error_output(ename: str, evalue: str) -> NotebookNode:
    import nbformat

    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def check(test: Plan, capture: Capture) -> list[NotebookNode]:
    """Run the test's checks here on the captured values: the outputs the test cell gets (an error: 0 points; the
    value of a last expression, nbgrader's partial credit; nothing: full points)."""
    import nbformat

    if test.error:
        return [error_output("SyntaxError", test.error)]
    if capture.problem:
        return [error_output("CaptureError", capture.problem)]
    if capture.error:
        return [error_output("CaptureError", f"gathering the values this test checks failed: {capture.error}")]
    if capture.missing:
        name = capture.missing[0]
        return [error_output("NameError", f"name {name!r} is not defined")]
    tree = ast.parse(test.source)
    body = [s for at, s in enumerate(tree.body) if at not in test.gather_at]
    last = body.pop() if body and isinstance(body[-1], ast.Expr) else None
    assert last is None or isinstance(last, ast.Expr)
    scope: dict[str, Any] = {"__builtins__": builtins, **capture.values}
    try:
        exec(compile(ast.Module(body=body, type_ignores=[]), f"<test {test.grade_id}>", "exec"), scope)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"<test {test.grade_id}>", "eval"), scope)
            if value is not None:
                return [nbformat.v4.new_output("execute_result", data={"text/plain": repr(value)},
                                               execution_count=None)]
    except Exception as exc:  # noqa: BLE001 - the test failed: the student's values are wrong
        return [error_output(type(exc).__name__, str(exc))]
    return []
