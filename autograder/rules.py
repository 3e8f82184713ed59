"""Static rules, checked by reading every student file of a project (the judge never imports them).

An allow-list, not a deny-list over one file: :func:`check_project` parses every ``.py`` file of the project folder
(sibling modules and sub-folders included) and the code cells of its notebooks, and reports each construct a
submission may not use, with its file and line (:class:`Violation`).

* **Imports** (the ``.py`` files): project 2 may import ``torch`` (not its autograd surface) and ``math``, a few
  inert helpers of the standard library (:data:`INERT`), and from the kit ``load_sibling`` and
  ``generate_disc_set`` (the handout's ``circle.py``); project 1 the same plus ``torch.nn``, autograd, ``numpy``,
  ``random``, ``copy`` and the contract ``course.project1.spec``. Nothing else: no ``os``, ``sys``, ``importlib``,
  ``inspect``, ``gc``, ``ctypes``, ``builtins``, no grader, no data set.
* **Dynamic code and reflection** (every file and cell): ``exec``, ``eval``, ``compile``, ``__import__``, ``open``,
  ``globals()``, ``locals()``, ``vars()``, ``breakpoint``; ``getattr``/``setattr``/``delattr``/``hasattr`` with a
  name that is not a string literal, with a dunder name, or on a module; assigning to an attribute of a module
  (``torch.tensor = ...``); dunder attributes and names beyond the inert ones (``__init__``, ``__name__``,
  ``__class__``, ``__doc__``, ``__file__``…); frames and code objects (``_getframe``, ``f_back``, ``tb_frame``…);
  torch's private modules (``torch._C``, ``torch._dynamo``…), ``torch.overrides``, ``torch.library``,
  ``torch.ops``, ``torch.load``, ``torch.hub``, ``torch.from_file``; numpy's file readers (``numpy.load``,
  ``fromfile``, ``memmap``…).
* **No autograd in project 2** (its ``.py`` files): ``torch.autograd``, ``torch.func``, ``torch.nn``,
  ``torch.compile``, ``torch.jit``, ``torch.fx``, ``torch.utils``, ``enable_grad``, ``set_grad_enabled``,
  ``requires_grad(_)``, ``grad_fn``, ``register_hook``, ``retain_grad``, ``requires_grad=``. A tensor's
  ``.backward()`` cannot be told from a module's by reading; the worker's tripwire catches it at run time
  (:mod:`autograder.sandbox.tripwire`).

A violation fails the rule task and withholds every task of the project (:mod:`autograder.integrity`). A file that
does not parse is reported as such (``syntax``), never as a violation: the import task explains it.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

INERT = ("__future__", "typing", "dataclasses", "abc", "collections", "itertools", "functools", "time", "enum",
         "numbers")
IMPORTS: dict[str, dict[str, set[str] | None]] = {  # module (or package prefix) -> the names a ``from`` import may take (None: any)
    "project1": {"torch": None, "math": None, "numpy": None, "random": None, "copy": None,
                 "course.project1.spec": None, **{name: None for name in INERT}},
    "project2": {"torch": None, "math": None, "course.submission": {"load_sibling"},
                 "course.data": {"generate_disc_set"}, **{name: None for name in INERT}},
}
NEVER = ("sys", "os", "importlib", "inspect", "gc", "ctypes", "builtins", "types", "runpy", "marshal", "pickle",
         "code", "codeop", "dis", "autograder", "pytest", "_pytest")  # not even in a notebook's cell
CALLS = {"exec", "eval", "compile", "__import__", "open", "globals", "locals", "vars", "breakpoint"}
REFLECTION = {"getattr", "setattr", "delattr", "hasattr"}
DUNDERS_OK = {"__init__", "__name__", "__qualname__", "__class__", "__doc__", "__file__", "__call__", "__repr__",
              "__str__", "__len__", "__getitem__", "__setitem__", "__iter__", "__next__", "__enter__", "__exit__",
              "__main__", "__version__"}
FRAMES = {"_getframe", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame",
          "cr_frame", "ag_frame", "co_code", "co_consts", "func_globals", "gi_code"}
TORCH_NEVER = ("torch._", "torch.overrides", "torch.library", "torch.ops", "torch.load", "torch.hub",
               "torch.from_file", "torch.classes", "torch.utils.cpp_extension")
NUMPY_NEVER = ("numpy.load", "numpy.fromfile", "numpy.loadtxt", "numpy.genfromtxt", "numpy.memmap", "numpy.lib",
               "numpy.ctypeslib", "numpy.DataSource", "numpy.f2py", "numpy.distutils")
TORCH_NO_AUTOGRAD = ("torch.autograd", "torch.func", "torch.nn", "torch.compile", "torch.jit", "torch.fx",
                     "torch.utils", "torch.enable_grad", "torch.set_grad_enabled", "torch.export", "torch.Tensor.backward",
                     "torch.Tensor.register_hook", "torch.Tensor.requires_grad", "torch.Tensor.grad", "torch.vmap",
                     "torch.inference_mode", "torch.autocast")
# methods torch's classes give a net, a parameter or a tensor that the probes measure with: a class of the project may
# not define its own (a net whose ``parameters`` hides a layer, a Parameter whose ``numel`` lies, an ``argmax`` that
# answers from a table…); ``forward``, ``__init__``, ``reset_parameters`` and ``extra_repr`` are what a net defines
MEASURED = {"__call__", "_call_impl", "_wrapped_call_impl", "register_forward_hook", "register_forward_pre_hook",
            "register_full_backward_hook", "parameters", "named_parameters", "modules", "named_modules", "children",
            "named_children", "buffers", "named_buffers", "state_dict", "load_state_dict", "train", "eval", "apply",
            "to", "cpu", "cuda", "zero_grad", "numel", "argmax", "argmin", "max", "detach", "clone", "as_subclass",
            "tolist", "item", "eq", "float", "double", "long", "reshape", "view", "split", "copy_", "mean", "sum",
            "step", "_named_members", "_get_name"}
AUTOGRAD_ATTRS = {"requires_grad", "requires_grad_", "grad_fn", "register_hook", "retain_grad", "enable_grad",
                  "set_grad_enabled", "autograd", "is_leaf", "retains_grad", "_backward_hooks"}


@dataclass(frozen=True)
class Violation:
    """One construct a project's file may not use: where, what, why. ``syntax``: the file does not parse (then it
    is no violation: the import task reports it)."""

    file: str
    line: int
    construct: str
    reason: str
    syntax: bool = False

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.construct}: {self.reason}"


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything that is not a chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _allowed_import(project: str, module: str, names: list[str] | None) -> bool:
    for allowed, only in IMPORTS[project].items():
        if module == allowed or module.startswith(allowed + ".") and only is None:
            return only is None or names is not None and all(n in only for n in names)
    return False


class _Checker(ast.NodeVisitor):
    """Collects the violations of one file (or cell). ``imports``: apply the project's import allow-list;
    ``autograd``: project 2's ban of the autograd surface."""

    def __init__(self, file: str, project: str, *, imports: bool, autograd: bool, siblings: frozenset = frozenset()):
        self.file, self.project, self.imports, self.autograd = file, project, imports, autograd
        self.siblings = siblings  # the project's own modules: importable by name
        self.modules: dict[str, str] = {}  # local name -> the dotted module it is bound to
        self.torch_classes: set[str] = set()  # the file's classes derived from torch's (nn.Module, Parameter…)
        self.found: list[Violation] = []

    def flag(self, node: ast.AST, construct: str, reason: str) -> None:
        self.found.append(Violation(self.file, getattr(node, "lineno", 0), construct, reason))

    # -- imports -------------------------------------------------------------------------------------------------
    def _module_path(self, module: str, node: ast.AST) -> None:
        """The checks of a dotted module path, whatever way it is reached (import or attribute chain)."""
        if module.startswith(NUMPY_NEVER):
            self.flag(node, module, "reading files (the data set's, the kit's) is off limits")
        if module.split(".")[0] != "torch":
            return
        if module.startswith(TORCH_NEVER):
            self.flag(node, module, "torch's internals and loaders are off limits (they reach past the grader)")
        elif self.autograd and module.startswith(TORCH_NO_AUTOGRAD):
            self.flag(node, module, "project 2 computes every gradient by hand: no autograd, torch.nn or compiler")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in NEVER and not self.imports:
                self.flag(node, f"import {alias.name}", "the interpreter, the grader and serialisers are off limits")
            if self.imports and alias.name not in self.siblings and not _allowed_import(self.project, alias.name, None):
                self.flag(node, f"import {alias.name}", self._not_allowed())
            self._module_path(alias.name, node)
            if alias.asname:
                self.modules[alias.asname] = alias.name
            else:
                self.modules[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        names = [a.name for a in node.names]
        if module.split(".")[0] in NEVER and not self.imports:
            self.flag(node, f"from {module} import ...", "the interpreter, the grader and serialisers are off limits")
        if self.imports and module not in self.siblings and (node.level or not _allowed_import(self.project, module,
                                                                                               names)):
            self.flag(node, f"from {module} import {', '.join(names)}", self._not_allowed())
        for alias in node.names:
            if alias.name == "*":
                self.flag(node, f"from {module} import *", "name what you import")
                continue
            self._module_path(f"{module}.{alias.name}", node)
            self.modules[alias.asname or alias.name] = f"{module}.{alias.name}"

    def _not_allowed(self) -> str:
        allowed = ", ".join(sorted(m for m in IMPORTS[self.project] if m not in INERT))
        return f"{self.project} may import only {allowed} (and {', '.join(INERT[1:5])}…)"

    # -- names, calls, attributes ----------------------------------------------------------------------------
    def _resolve(self, node: ast.AST) -> str | None:
        """The dotted path an expression names when it starts at an imported module (``F.relu`` ->
        ``torch.nn.functional.relu``), else None."""
        parts = _dotted(node)
        if not parts or parts[0] not in self.modules:
            return None
        return ".".join([self.modules[parts[0]], *parts[1:]])

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in {"__builtins__", "builtins", "__loader__", "__spec__"} or (
                node.id.startswith("__") and node.id.endswith("__") and node.id not in DUNDERS_OK):
            self.flag(node, node.id, "reflection on the interpreter is off limits")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in CALLS:
            self.flag(node, f"{func.id}(...)", "no dynamic code, file access or namespace reflection")
        if self._resolve(func) == "torch.set_grad_enabled" and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], ast.Constant) and node.args[0].value is False:
            return  # gradient tracking switched off: allowed (circle.py of the handout)
        if isinstance(func, ast.Name) and func.id in REFLECTION and self.imports:
            name = node.args[1] if len(node.args) > 1 else None
            target = self._resolve(node.args[0]) if node.args else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.flag(node, f"{func.id}(..., <computed name>)", "attribute names must be written out")
            elif name.value.startswith("__") or name.value in FRAMES or (self.autograd and
                                                                         name.value in AUTOGRAD_ATTRS):
                self.flag(node, f"{func.id}(..., {name.value!r})", "reflection on internals is off limits")
            elif target is not None:
                self.flag(node, f"{func.id}({target}, ...)", "modules are not inspected or patched by name")
            elif node.args and func.id in ("setattr", "delattr") and self._torch_type(node.args[0]):
                self.flag(node, f"{func.id}(type(...), ...)", "torch's classes may not be patched")
        if self.autograd:
            for keyword in node.keywords:
                if keyword.arg == "requires_grad":
                    self.flag(keyword, "requires_grad=", "project 2 computes every gradient by hand")
        self.generic_visit(node)

    def _attr(self, node: ast.AST, attr: str) -> None:
        if attr.startswith("__") and attr.endswith("__") and attr not in DUNDERS_OK:
            self.flag(node, f".{attr}", "dunder attributes of objects, functions and modules are off limits")
        elif attr in FRAMES:
            self.flag(node, f".{attr}", "frames and code objects are off limits")
        elif self.autograd and attr in AUTOGRAD_ATTRS:
            self.flag(node, f".{attr}", "project 2 computes every gradient by hand: no autograd")

    def visit_Assign(self, node: ast.Assign) -> None:
        """``Base = nn.Module``: ``Base`` names a torch object from here on (patching it is patching torch)."""
        resolved = self._resolve(node.value) or self._torch_type(node.value)
        if resolved is not None and resolved.split(".")[0] == "torch":
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.modules[target.id] = resolved
        self.generic_visit(node)

    def _torch_type(self, node: ast.AST) -> str | None:
        """``type(x)``, ``x.__class__``: the class of an object, which a student file has no business patching
        (spelled ``torch.<class of an object>``)."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" \
                and len(node.args) == 1:
            return "torch.<class of an object>"
        if isinstance(node, ast.Attribute) and node.attr == "__class__":
            return "torch.<class of an object>"
        return None

    def _patched(self, target: ast.AST) -> str | None:
        """The torch object (or an object's class) that assigning to ``target``'s attribute would patch."""
        if not isinstance(target, ast.Attribute):
            return None
        owner = self._resolve(target.value) or self._torch_type(target.value)
        return owner if owner is not None and owner.split(".")[0] == "torch" else None

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self._resolve(b) or (b.id if isinstance(b, ast.Name) else "") for b in node.bases]
        if not any(b.split(".")[0] == "torch" or b in self.torch_classes for b in bases if b):
            self.generic_visit(node)  # a class of its own (a Trainer with a train method is fine)
            return
        self.torch_classes.add(node.name)
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                dunder = item.name.startswith("__") and item.name.endswith("__")
                if item.name in MEASURED or (dunder and item.name not in DUNDERS_OK):
                    self.flag(item, f"def {item.name}", "a class may not redefine what torch measures a net, a "
                                                        "parameter or a tensor with (forward and __init__ are yours)")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)) and self._resolve(node) is None:
            owner = self._patched(node)
            if owner is not None:
                self.flag(node, f"{owner}.{node.attr} = ...", "torch's classes and functions may not be patched")
        resolved = self._resolve(node)
        if resolved is None:
            self._attr(node, node.attr)
            self.generic_visit(node)
            return
        # a chain from an imported module (``torch.autograd.grad``): checked once, as a whole
        for attr in resolved.split(".")[1:]:
            if attr not in AUTOGRAD_ATTRS:  # those are the module path's to judge (just below)
                self._attr(node, attr)
        self._module_path(resolved, node)
        if resolved.split(".")[0] in ("sys", "os", "importlib", "inspect", "gc", "builtins", "ctypes"):
            self.flag(node, resolved, "the interpreter's state is off limits")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.flag(node, f"{resolved} = ...", "modules may not be patched")


def _cells(path: Path) -> list[tuple[int, str]]:
    """A notebook's code cells as ``(cell number, source)``, IPython magics and shell lines commented out."""
    try:
        cells = json.loads(path.read_text()).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []  # an unreadable notebook is nbgrader's to report
    found = []
    for number, cell in enumerate(cells, 1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            lines = ["# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
            found.append((number, "\n".join(lines)))
    return found


def check_source(source: str, file: str, project: str, *, notebook: bool = False,
                 siblings: frozenset = frozenset()) -> list[Violation]:
    """The violations of one file's (or cell's) source; a syntax error as one ``syntax`` entry. ``siblings``: the
    project's own module names, which its files may import."""
    try:
        tree = ast.parse(source, filename=file)
    except SyntaxError as exc:
        return [Violation(file, exc.lineno or 0, "syntax error", exc.msg or "", syntax=True)]
    checker = _Checker(file, project, imports=not notebook, autograd=project == "project2" and not notebook,
                       siblings=siblings)
    checker.visit(tree)
    return checker.found


def student_files(folder: Path) -> list[Path]:
    """Every ``.py`` file and notebook of a project folder, sub-folders included (caches and checkpoints not)."""
    skip = {"__pycache__", ".ipynb_checkpoints", ".git"}
    return sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()
                  and not skip & set(p.relative_to(folder).parts))


def test_file(path: Path) -> bool:
    """A student's own test file (``test_*.py``, ``*_test.py``, ``conftest.py``): the handout asks students to check
    their gradients against autograd, so these are not read; the grader never loads them, and no other file may
    import them (they are not among the importable siblings)."""
    return path.suffix == ".py" and (path.name.startswith("test_") or path.stem.endswith("_test")
                                     or path.name == "conftest.py")


def check_project(folder: str | Path, project: str) -> list[Violation]:
    """Every violation in the project folder, sorted by file and line (syntax errors included, marked)."""
    folder = Path(folder)
    found: list[Violation] = []
    files = [p for p in (student_files(folder) if folder.is_dir() else []) if not test_file(p)]
    # a top-level file of the project is importable by its name, unless it is named like a kit module (never loaded)
    siblings = frozenset(p.stem for p in files if p.suffix == ".py" and p.parent == folder
                         and p.stem not in ("course", "autograder", "torch", "numpy", "math") and p.stem not in NEVER)
    for path in files:
        name = str(path.relative_to(folder))
        if path.suffix == ".ipynb":
            for number, source in _cells(path):
                found += check_source(source, f"{name} (cell {number})", project, notebook=True)
            continue
        try:
            source = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            found.append(Violation(name, 0, "unreadable", str(exc), syntax=True))
            continue
        found += check_source(source, name, project, siblings=siblings)
    unique = {(v.file, v.line, v.construct): v for v in found}
    return sorted(unique.values(), key=lambda v: (v.file, v.line, v.construct))


def breaches(folder: str | Path, project: str) -> list[Violation]:
    """The violations that count (syntax errors left out: the import task explains those)."""
    return [v for v in check_project(folder, project) if not v.syntax]
