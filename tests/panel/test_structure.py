"""The import arrows of the architecture: the core (`panel/`) imports no product, and
products plug into it through its registries instead (ARCHITECTURE.md, "Tenancy: one
way in"). Read from the source with `ast`, so a forbidden import fails here even on a
line no other test runs."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = {"mail", "domains", "ticketing", "newsletter", "cloud"}
#: The demo seeder fills every product through its services, on purpose.
CORE_MAY_IMPORT_PRODUCTS = {"panel/management/commands/seed_demo.py"}


def modules(package: str):
    """(path relative to the repository, dotted module name) of every module of
    `package`, its migrations left out."""
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield relative.as_posix(), ".".join(parts)


def imported(path: str, module: str, *, top_level_only=False) -> set[str]:
    """The absolute names of the modules that `module` imports (`from a import b` counts
    as a and a.b); with `top_level_only`, only the imports that run when it is loaded
    (under a module-level `if` or `try` too), not those inside functions."""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    names = set()

    def visit(node):
        if top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse((ROOT / path).read_text(), path))
    return names


def _app(name: str) -> str:
    return name.partition(".")[0]


def test_the_core_imports_no_product():
    found = [
        f"{path} imports {name}"
        for path, module in modules("panel")
        if path not in CORE_MAY_IMPORT_PRODUCTS
        for name in sorted(imported(path, module))
        if _app(name) in PRODUCTS
    ]
    assert not found, "the core must not import a product:\n" + "\n".join(found)


def test_the_walk_sees_the_imports_it_must_refuse():
    """The checks above are only as good as `imported`: it reads relative, nested and
    function-local imports."""
    names = imported(
        "panel/management/commands/seed_demo.py", "panel.management.commands.seed_demo"
    )
    assert {"mail", "mail.services", "domains.services", "mail.services.sending"} <= names
    assert "panel.models" in imported("panel/jobs.py", "panel.jobs", top_level_only=True)


def test_domains_knows_nothing_of_mail():
    """Mail depends on Domains (it publishes its records in the customer's zone); Domains
    reaches mail's records only through the hook that mail fills (domains.hooks)."""
    found = [
        f"{path} imports {name}"
        for path, module in modules("domains")
        for name in sorted(imported(path, module))
        if _app(name) == "mail"
    ]
    assert not found, "domains must not import mail:\n" + "\n".join(found)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports when loaded. Importing a.b.c loads
    the packages a and a.b first, so they count too, except the importer's own packages
    (already loading when it runs)."""
    found = {module: path for path, module in modules(package)}
    graph = {}
    for module, path in found.items():
        own = _packages(module)
        edges = set()
        for name in imported(path, module, top_level_only=True):
            if name in found:
                edges.add(name)
            edges.update(p for p in _packages(name) if p in found and p not in own)
        graph[module] = edges - {module}
    return graph


def _packages(name: str) -> set[str]:
    """The packages that hold `name`: a and a.b for a.b.c."""
    parts = name.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts))}


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (its modules in order, the first again at the end)."""
    state = {}  # module -> "open" while on the path, "done" once explored

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_mail_has_no_import_cycle():
    """Tasks call services; services enqueue tasks by name (panel.jobs.job_enqueue,
    task_named) instead of importing them, so neither needs the other half-loaded."""
    cycle = a_cycle(import_graph("mail"))
    assert cycle is None, "import cycle in mail: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert a_cycle(graph) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b"}, "b": set()}) is None
    assert "mail.services" in import_graph("mail")["mail.tasks"]  # the package of a submodule
