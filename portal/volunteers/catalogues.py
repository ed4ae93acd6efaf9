"""The contract's catalogues: codes in the API, Chinese names on pages (more may be added, none
removed)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SERVICE_TYPES = {
    "elderly_care": _l("Elderly care"),
    "disability_support": _l("Disability support"),
    "child_care": _l("Caring for children"),
    "education": _l("Tutoring and education"),
    "health": _l("Health care"),
    "environment": _l("Environmental protection"),
    "emergency": _l("Emergency rescue"),
    "legal_aid": _l("Legal aid"),
    "culture_sports": _l("Culture and sports"),
    "community_governance": _l("Community governance"),
    "poverty_relief": _l("Poverty relief"),
    "other": _l("Other"),
}

SKILLS = {
    "first_aid": _l("First aid"),
    "nursing": _l("Nursing"),
    "tutoring": _l("Tutoring"),
    "legal": _l("Law"),
    "psychology": _l("Counselling"),
    "it": _l("Information technology"),
    "photography": _l("Photography and video"),
    "driving": _l("Driving"),
    "cooking": _l("Cooking"),
    "repair": _l("Repairs"),
    "sign_language": _l("Sign language"),
    "translation": _l("Translation"),
    "arts": _l("Arts"),
    "sports": _l("Sports"),
    "other": _l("Other"),
}

WEEKDAYS = {"mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"),
            "thu": _l("Thursday"), "fri": _l("Friday"), "sat": _l("Saturday"),
            "sun": _l("Sunday")}
DAYPARTS = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}
# Weekly availability is a set of slots such as "sat_morning".
SLOTS = [f"{day}_{part}" for day in WEEKDAYS for part in DAYPARTS]
