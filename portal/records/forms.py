"""Forms of the service-record, certificate and export pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

MAX_MINUTES = 60 * 24 * 366


class RecordForm(FlaskForm):
    activity = SelectField(_l("Activity"), choices=[], coerce=int)
    volunteer_code = StringField(_l("Volunteer number (type a name to pick from the list)"),
                                 validators=[DataRequired(), Length(max=80)],
                                 render_kw={"list": "known-volunteers", "autocomplete": "off",
                                            "placeholder": "YK00000001"})
    started_at = DateTimeLocalField(_l("Service started (Beijing time)"),
                                    format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ended_at = DateTimeLocalField(_l("Service ended (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                  validators=[DataRequired()])
    minutes = IntegerField(_l("Minutes of actual service (travel excluded)"),
                           validators=[DataRequired(), NumberRange(1, MAX_MINUTES)])
    content = TextAreaField(_l("What was done"), validators=[Optional(), Length(max=2000)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    beneficiaries = StringField(_l("Served (服务对象)"), validators=[Optional(), Length(max=200)])
    leader = StringField(_l("Activity leader"), validators=[Optional(), Length(max=50)])
    evaluation = StringField(_l("Evaluation"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save the record"))


class DecisionForm(FlaskForm):
    reason = StringField(_l("Reason (required to reject)"),
                         validators=[Optional(), Length(max=2000)])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class AmendForm(FlaskForm):
    minutes = IntegerField(_l("Correct minutes"), validators=[DataRequired(),
                                                             NumberRange(1, MAX_MINUTES)])
    amend_reason = StringField(_l("Why"), validators=[DataRequired(), Length(max=2000)])
    amend = SubmitField(_l("Amend"))


class CorrectionForm(FlaskForm):
    correct_minutes = IntegerField(_l("The minutes I served (if they are wrong)"),
                                   validators=[Optional(), NumberRange(1, MAX_MINUTES)])
    correct_reason = TextAreaField(_l("What is wrong"),
                                   validators=[DataRequired(), Length(max=2000)])
    ask = SubmitField(_l("Ask for a correction"))


class AnswerForm(FlaskForm):
    answer = StringField(_l("Answer to the volunteer"),
                         validators=[DataRequired(), Length(max=2000)])
    answer_minutes = IntegerField(_l("Minutes (if accepting a change)"),
                                  validators=[Optional(), NumberRange(1, MAX_MINUTES)])
    accept = SubmitField(_l("Accept"))
    decline = SubmitField(_l("Decline"))


class CertificateForm(FlaskForm):
    period_from = DateField(_l("First day"), validators=[DataRequired()])
    period_to = DateField(_l("Last day"), validators=[DataRequired()])
    issuer = SelectField(_l("Issued by"), choices=[], coerce=int)
    submit = SubmitField(_l("Ask for a certificate"))


class RevokeForm(FlaskForm):
    revoke_reason = StringField(_l("Why it is revoked"),
                                validators=[DataRequired(), Length(max=2000)])
    revoke = SubmitField(_l("Revoke"))


class BulkForm(FlaskForm):
    submit = SubmitField(_l("Approve the selected records"))


class ExportForm(FlaskForm):
    area = SelectField(_l("Area"), choices=[])
    period_from = DateField(_l("First day"), validators=[DataRequired()])
    period_to = DateField(_l("Last day"), validators=[DataRequired()])
    submit = SubmitField(_l("Export"))
