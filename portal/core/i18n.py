"""Locale choice: ?lang=, then the user's saved choice, then Accept-Language; Chinese default."""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_login import current_user

# Catalogue folder name -> what <html lang> says.
LOCALES = {"zh_Hans_CN": "zh-Hans", "en": "en"}
ALIASES = {"zh": "zh_Hans_CN", "zh-hans": "zh_Hans_CN", "zh_hans": "zh_Hans_CN",
           "zh-cn": "zh_Hans_CN", "zh_cn": "zh_Hans_CN", "zh-hans-cn": "zh_Hans_CN",
           "zh_hans_cn": "zh_Hans_CN", "en": "en", "en-us": "en", "en-gb": "en", "en_us": "en"}
DEFAULT = "zh_Hans_CN"


def normalise(value: str | None) -> str | None:
    return ALIASES.get((value or "").strip().lower())


def select_locale() -> str:
    if not has_request_context():  # CLI and jobs: the portal's default language
        return DEFAULT
    from_query = normalise(request.args.get("lang"))
    if from_query:
        return from_query
    if current_user and current_user.is_authenticated and normalise(current_user.locale):
        return normalise(current_user.locale)
    if normalise(session.get("lang")):
        return normalise(session.get("lang"))
    best = request.accept_languages.best_match(["zh-Hans", "zh-CN", "zh", "en"])
    if best and best.startswith("en"):
        return "en"
    return DEFAULT


def html_lang(locale) -> str:
    return LOCALES.get(str(locale), "zh-Hans")
