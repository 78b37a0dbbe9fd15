"""The wire package's import graph has no circle: base ← transport ← adapters ← dispatch."""

from __future__ import annotations

import ast
from pathlib import Path

import providers.wire

WIRE = Path(providers.wire.__file__).parent
ADAPTERS = {"openai_chat", "anthropic_messages", "gemini"}


def _imports(module: str) -> set[str]:
    """The providers.wire modules `module` imports, at any depth of its body."""
    tree = ast.parse((WIRE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "providers.wire":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("providers.wire."):
            found.add(node.module.removeprefix("providers.wire."))  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("providers.wire.")
                for a in node.names
                if a.name.startswith("providers.wire.")
            }
    return found


def test_it_keeps_the_adapters_below_their_dispatcher() -> None:
    modules = {p.stem for p in WIRE.glob("*.py")} - {"__init__"}
    assert modules >= ADAPTERS
    graph = {module: _imports(module) for module in modules}
    assert graph["dispatch"] >= ADAPTERS
    assert not [m for m in modules - {"dispatch"} if "dispatch" in graph[m]]
    assert not graph["base"] & (ADAPTERS | {"transport", "dispatch"})
    assert not graph["transport"] & (ADAPTERS | {"dispatch"})
    assert _imports("__init__") == set()  # importing the package imports no adapter
