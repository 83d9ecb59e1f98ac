"""Newsletter emails from structured blocks: themes, the block schema, variables and the
renderer (MJML through mrml, css-inline, inscriptis)."""

from .blocks import clean_content
from .render import Rendered, problems, render_email
from .themes import THEMES, Theme, theme_choices, theme_for
from .variables import render_string, unknown_variables

__all__ = [
    "THEMES",
    "Rendered",
    "Theme",
    "clean_content",
    "problems",
    "render_email",
    "render_string",
    "theme_choices",
    "theme_for",
    "unknown_variables",
]
