"""Every API view checks the shape of its input before a service sees it: `request.data`
appears only as the input of a serializer (directly, through `_valid`, `_changes`,
`changes_of` or `confirm_name`) or in a type test, never as an argument of anything else."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: every app's API modules, the apps to come included
API_MODULES = sorted(ROOT.glob("*/api/*.py"))
#: what may take request.data as it came: serializers and the helpers that run one
CHECKERS = {"_valid", "_changes", "changes_of", "confirm_name", "isinstance", "hasattr", "set"}


def _is_request_data(node) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "data"
        and isinstance(node.value, ast.Name)
        and node.value.id == "request"
    )


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_request_data_only_reaches_serializers_and_checkers():
    assert {p.parent.parent.name for p in API_MODULES} >= {"panel", "mail", "domains"}
    unchecked = []
    for path in API_MODULES:
        tree = ast.parse(path.read_text())
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            arguments = [*call.args, *(k.value for k in call.keywords)]
            if any(_is_request_data(argument) for argument in arguments):
                name = _callee(call)
                if name not in CHECKERS and not name.endswith("In"):
                    unchecked.append(f"{path.relative_to(ROOT)}:{call.lineno} {name}()")
    assert unchecked == []


def test_the_check_finds_a_service_fed_request_data_as_it_came():
    tree = ast.parse("services.rrsets_apply(changes=request.data)")
    (call,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert _callee(call) == "rrsets_apply"
    assert any(_is_request_data(k.value) for k in call.keywords)
