"""Forms of the core pages: validation only; services do the writing."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core.users import ROLE_TITLES, Role


class PolicyForm(FlaskForm):
    body_zh = TextAreaField(_l("Text in Chinese"), validators=[DataRequired(), Length(max=50000)],
                            render_kw={"rows": 14})
    body_en = TextAreaField(_l("Text in English"), validators=[DataRequired(), Length(max=50000)],
                            render_kw={"rows": 14})
    submit = SubmitField(_l("Publish a new version"))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign in"))


class SmsCodeForm(FlaskForm):
    """A phone and the code sent to it: one form, two buttons (send the code; use it)."""
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=32)],
                        render_kw={"inputmode": "tel", "autocomplete": "tel",
                                   "placeholder": "138 0000 0000"})
    code = StringField(_l("Code from the SMS"), validators=[Optional(), Length(max=16)],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                                  "maxlength": 6, "pattern": "[0-9]*"})
    send = SubmitField(_l("Send code"))
    submit = SubmitField(_l("Sign in"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))


class AreaForm(FlaskForm):
    code = StringField(_l("Code (12 digits for a community)"),
                       validators=[DataRequired(), Length(max=12)],
                       render_kw={"inputmode": "numeric"})
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    population = IntegerField(_l("Population"), validators=[Optional(), NumberRange(min=0)])
    households = IntegerField(_l("Households"), validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Add area"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=1024)])
    roles = MultiCheckboxField(_l("Roles"), choices=[(r.value, ROLE_TITLES[r]) for r in Role])
    area_code = StringField(_l("Area code (bureau: city or county; community worker: township "
                               "or community)"), validators=[Optional(), Length(max=12)])
    submit = SubmitField(_l("Create account"))
