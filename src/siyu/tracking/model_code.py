"""The part of siyu's own code a registered model carries (MLflow `code_paths`) so that it loads and
predicts where siyu is not installed: the modules its pickle names and everything they import, not
the whole package. The whole package was 190 files copied twice into every model (a temporary
folder, then the artifact store): 3,900 files for one `train --task all --model all` on the demo,
and on ext4 creating files next to many recently deleted ones is slow kernel work.
"""

from __future__ import annotations

import ast
import functools
import pickletools
import shutil
from collections.abc import Iterable
from pathlib import Path

_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def modules_named(data: bytes) -> set[str]:
    """Every module a pickle takes a class or function from, read from its opcodes (nothing is
    unpickled). Protocol 4+ names a global by two strings pushed before STACK_GLOBAL, either
    written there or fetched from the memo."""
    found, recent, memo = set(), [], {}
    for op, arg, _ in pickletools.genops(data):
        name = op.name
        if name == "GLOBAL":  # protocols 0-3: "module name" in one argument
            found.add(str(arg).split(" ", 1)[0])
        elif name in _STRINGS:
            recent.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(arg))
        elif name == "STACK_GLOBAL" and len(recent) >= 2 and isinstance(recent[-2], str):
            found.add(recent[-2])
        if name not in _STRINGS and name not in ("GET", "BINGET", "LONG_BINGET", "MEMOIZE", "PUT", "BINPUT",
                                                 "LONG_BINPUT", "STACK_GLOBAL"):
            recent.clear()  # only strings pushed right before STACK_GLOBAL name a global
    return found


# Both are asked for every model a run logs (20 in `make demo`'s train), about the same few dozen
# files each time; the files do not change under a running process.
@functools.cache
def _module_file(package_root: Path, module: str) -> Path | None:
    """The file of `module` (`siyu.a.b`) under `package_root` (the folder `siyu`), if it is there."""
    parts = module.split(".")[1:]
    base = package_root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _imports(path: Path, module: str) -> tuple[str, ...]:
    """Every module `module`'s source imports, in any function or branch, and every string naming a
    module of its package (the lazy exports of `siyu.features`, `siyu.tracking`, ... map names to
    modules by string): a superset is harmless."""
    return tuple(_scan_imports(path, module))


def _scan_imports(path: Path, module: str) -> Iterable[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top = module.split(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(top + ".") \
                and node.value.replace(".", "").replace("_", "").isalnum():
            yield node.value
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)  # a name may be a submodule


def modules_needed(roots: Iterable[str], package_root: Path) -> set[str]:
    """`roots` within the package at `package_root`, everything they import from it, and every
    package on the way (importing `siyu.a.b` runs `siyu/__init__.py` and `siyu/a/__init__.py`)."""
    top = package_root.name
    todo = [m for m in roots if m == top or m.startswith(top + ".")]
    needed: set[str] = set()
    while todo:
        module = todo.pop()
        if module in needed:
            continue
        path = _module_file(package_root, module)
        if path is None:
            continue  # a name imported from a module, not a module
        needed.add(module)
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(m for m in _imports(path, module) if m == top or m.startswith(top + "."))
    return needed


def copy_modules(package_root: Path, modules: set[str], dest: Path) -> Path:
    """Copy the files of `modules` (and the data files, such as templates, beside their packages)
    from `package_root` to `dest/<package name>`; returns that folder."""
    out = dest / package_root.name
    packages = {m for m in modules if (_module_file(package_root, m) or Path()).name == "__init__.py"}
    for module in modules:
        source = _module_file(package_root, module)
        target = out / source.relative_to(package_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    for package in packages:
        folder = package_root.joinpath(*package.split(".")[1:])
        for data in folder.rglob("*"):
            inside = data.relative_to(folder).parts
            if data.is_file() and data.suffix not in (".py", ".pyc") and "__pycache__" not in inside \
                    and not (folder / inside[0] / "__init__.py").exists():
                target = out / data.relative_to(package_root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(data, target)
    return out


__all__ = ["copy_modules", "modules_named", "modules_needed"]
