"""The activity CSV keeps spreadsheet formulas inert."""

from panel.tasks import _cell


def test_user_text_that_looks_like_a_formula_is_quoted():
    assert _cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert _cell("+33 1 23") == "'+33 1 23"
    assert _cell("@SUM(A1)") == "'@SUM(A1)"


def test_ordinary_text_is_left_alone():
    assert _cell("Webmasters") == "Webmasters"
    assert _cell("panel.team.created") == "panel.team.created"
