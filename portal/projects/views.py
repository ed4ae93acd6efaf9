"""Pages for projects: public calls and results, and the bureau's, bidders' and reviewers' work."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects", __name__)
