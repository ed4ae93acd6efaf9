"""Forms of the call-out pages: calling out (made for a phone), answering, withdrawing, and the
coordinator's check-in and check-out."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from portal.core.forms import MultiCheckboxField


class CalloutForm(FlaskForm):
    title = StringField(_l("What is happening"), validators=[Length(max=100)])
    area = SelectField(_l("Area called"), choices=[])
    place = StringField(_l("Where volunteers gather"), validators=[Length(max=200)])
    skills = MultiCheckboxField(_l("Skills wanted (none: every volunteer)"), choices=[])
    # Optional here: the service names every wrong field at once, in one answer.
    headcount = IntegerField(_l("Volunteers needed"), validators=[Optional()])
    needed_by = DateTimeLocalField(_l("Needed by (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends at (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[Optional()])
    call_out = SubmitField(_l("Call out now"))


ETA_CHOICES = [("10", _l("In 10 minutes")), ("20", _l("In 20 minutes")),
               ("30", _l("In 30 minutes")), ("60", _l("In an hour")),
               ("120", _l("In two hours"))]


class AnswerForm(FlaskForm):
    eta = SelectField(_l("When can you be there?"), choices=ETA_CHOICES, default="30",
                      validators=[Optional()])
    yes = SubmitField(_l("Yes, I am coming"))
    no = SubmitField(_l("No, I cannot come"))


class WithdrawForm(FlaskForm):
    withdraw = SubmitField(_l("I cannot come after all"))


class EndForm(FlaskForm):
    end = SubmitField(_l("End the call-out now"))


class DeskForm(FlaskForm):
    """Check-in and check-out at the staging point (the response's id in the button)."""
    check_in = SubmitField(_l("Check in"))
    check_out = SubmitField(_l("Check out"))
