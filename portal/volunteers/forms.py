"""Forms of the volunteer pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import PasswordInput

from portal.core.areas import community_choices
from portal.core.forms import MultiCheckboxField
from portal.volunteers.catalogues import DAYPARTS, SERVICE_TYPES, SKILLS, WEEKDAYS
from portal.volunteers.models import ID_TYPE_TITLES


class RegisterForm(FlaskForm):
    real_name = StringField(_l("Real name"), validators=[DataRequired(), Length(max=50)],
                            render_kw={"autocomplete": "name"})
    id_type = SelectField(_l("ID document"), choices=[])
    id_number = StringField(_l("Document number"), validators=[DataRequired(), Length(max=40)],
                            render_kw={"autocomplete": "off", "spellcheck": "false",
                                       "autocapitalize": "characters"})
    birth_date = DateField(_l("Birth date (only for documents other than the resident ID)"),
                           validators=[Optional()])
    gender = SelectField(_l("Gender (only for documents other than the resident ID)"),
                         choices=[("", "—"), ("female", _l("Female")), ("male", _l("Male"))],
                         default="")
    email = StringField(_l("E-mail (optional, for notices)"),
                        validators=[Optional(), Length(max=254)],
                        render_kw={"inputmode": "email", "autocomplete": "email"})
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=30)],
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    community_code = SelectField(_l("Your community"), choices=[])
    service_types = MultiCheckboxField(_l("Services you would like to give"), choices=[])
    skills = MultiCheckboxField(_l("Skills"), choices=[])
    availability = MultiCheckboxField(_l("When you are usually free"), choices=[])
    guardian_name = StringField(_l("Guardian's name (under 18 only)"),
                                validators=[Optional(), Length(max=50)])
    guardian_phone = StringField(_l("Guardian's phone (under 18 only)"),
                                 validators=[Optional(), Length(max=30)])
    guardian_consent = BooleanField(_l("My guardian agrees to my volunteering (under 18 only)"))
    username = StringField(_l("Username for signing in"), validators=[Optional(),
                                                                     Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    # Kept when the form comes back with an error elsewhere: nothing typed is lost.
    password = PasswordField(_l("Password (at least 8 characters)"),
                             validators=[Optional(), Length(max=1024)],
                             widget=PasswordInput(hide_value=False),
                             render_kw={"autocomplete": "new-password"})
    consent = BooleanField(_l("I have read the user agreement and the privacy policy, and agree "
                              "that my ID number (sensitive personal information) and contact "
                              "details are processed for volunteer registration and service "
                              "records."))
    submit = SubmitField(_l("Register"))

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.id_type.choices = [(k, v) for k, v in ID_TYPE_TITLES.items()]
        self.community_code.choices = community_choices(list(communities))
        self.service_types.choices = list(SERVICE_TYPES.items())
        self.skills.choices = list(SKILLS.items())
        self.availability.choices = [(f"{d}_{p}", f"{dt} · {pt}")
                                     for d, dt in WEEKDAYS.items() for p, pt in DAYPARTS.items()]


class ImportForm(FlaskForm):
    file = FileField(_l("Excel file (.xlsx) filled in from the template"))
    submit = SubmitField(_l("Import"))


class VerifyForm(FlaskForm):
    submit = SubmitField(_l("Verify"))


class ProfileForm(FlaskForm):
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=30)],
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    community_code = SelectField(_l("Your community"), choices=[])
    service_types = MultiCheckboxField(_l("Services you would like to give"), choices=[])
    skills = MultiCheckboxField(_l("Skills"), choices=[])
    availability = MultiCheckboxField(_l("When you are usually free"), choices=[])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.community_code.choices = community_choices(list(communities))
        self.service_types.choices = list(SERVICE_TYPES.items())
        self.skills.choices = list(SKILLS.items())
        self.availability.choices = [(f"{d}_{p}", f"{dt} · {pt}")
                                     for d, dt in WEEKDAYS.items() for p, pt in DAYPARTS.items()]


class DeleteForm(FlaskForm):
    confirm = BooleanField(_l("Yes, delete my account: my name, document and phone are removed; "
                              "my approved hours stay counted"))
    submit = SubmitField(_l("Delete my account"))
