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
