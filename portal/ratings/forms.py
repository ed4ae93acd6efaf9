"""The rating form: five large choices, three optional dimensions, a comment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class RatingForm(FlaskForm):
    level = RadioField(_l("How satisfied are you?"), choices=[], coerce=int,
                       validators=[DataRequired(_l("Choose one of the five."))])
    attitude = SelectField(_l("Attitude"), choices=[], coerce=int, validators=[Optional()])
    quality = SelectField(_l("Quality"), choices=[], coerce=int, validators=[Optional()])
    timeliness = SelectField(_l("Timeliness"), choices=[], coerce=int, validators=[Optional()])
    comment = TextAreaField(_l("What went well, or wrong"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Send my rating"))


class CaseActionForm(FlaskForm):
    """The CSRF token of a case's small forms (answer, review, appeal, decide); their fields
    are read from the request and checked by the service, which says what is wrong."""
