"""Forms of the activity pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.core.forms import MultiCheckboxField
from portal.volunteers.catalogues import SERVICE_TYPES, SKILLS


class ActivityForm(FlaskForm):
    organiser = SelectField(_l("Organiser"), choices=[])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    service_type = SelectField(_l("Service type"), choices=[])
    skills = MultiCheckboxField(_l("Skills wanted"), choices=[])
    location = StringField(_l("Place"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    min_age = IntegerField(_l("Minimum age"), validators=[Optional(), NumberRange(0, 100)])
    contact_name = StringField(_l("Contact person (the organiser's when empty)"),
                               validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=20)],
                                render_kw={"inputmode": "tel", "autocomplete": "tel"})
    signup_closes_hours = IntegerField(_l("Signups close this many hours before a shift"),
                                       default=0, validators=[Optional(), NumberRange(0, 336)])
    risky = BooleanField(_l("Risky: volunteers must be insured before signing up"))
    insurance = StringField(_l("Insurance (insurer and policy number), if already taken out"),
                            validators=[Optional(), Length(max=500)])
    starts_at = DateTimeLocalField(_l("Shift starts (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Shift ends (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[DataRequired()])
    capacity = IntegerField(_l("Places"), validators=[DataRequired(), NumberRange(1, 10000)])
    waitlist = BooleanField(_l("Keep a waiting list when full"), default=True)
    repeat_until = DateField(_l("Repeat every week until (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Publish"))

    def __init__(self, *args, organisers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organiser.choices = list(organisers)
        self.service_type.choices = list(SERVICE_TYPES.items())
        self.skills.choices = list(SKILLS.items())


class ShiftTimesForm(FlaskForm):
    """A shift's times and places (the forms that add and change shifts share them)."""

    starts_at = DateTimeLocalField(_l("Shift starts (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Shift ends (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[DataRequired()])
    capacity = IntegerField(_l("Places"), validators=[DataRequired(), NumberRange(1, 10000)])
    waitlist = BooleanField(_l("Keep a waiting list when full"), default=True)


class ShiftForm(ShiftTimesForm):
    """A shift (more of them weekly) added to a published activity; prefixed per use."""

    repeat_until = DateField(_l("Repeat every week until (optional)"), validators=[Optional()])
    save = SubmitField(_l("Add the shift"))


class ShiftEditForm(ShiftTimesForm):
    save = SubmitField(_l("Save the changes (its volunteers are told)"))


class ShiftCancelForm(FlaskForm):
    cancel_reason = TextAreaField(_l("Why it is cancelled (its volunteers are told)"),
                                  validators=[DataRequired(), Length(max=500)])
    cancel = SubmitField(_l("Cancel this shift"))


class SignupForm(FlaskForm):
    submit = SubmitField(_l("Sign up"))


class CancelForm(FlaskForm):
    submit = SubmitField(_l("Cancel my signup"))


class CalendarLinkForm(FlaskForm):
    submit = SubmitField(_l("Make my calendar address"))


class CodeForm(FlaskForm):
    code = StringField(_l("Check-in code"), validators=[Optional(), Length(max=12)],
                       render_kw={"inputmode": "numeric", "autocomplete": "off"})
    submit = SubmitField(_l("Confirm"))
