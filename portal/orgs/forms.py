"""Forms of the organisation pages: validation of shape only; the services hold the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.areas import community_choices
from portal.orgs.models import (
    RATINGS,
    Certificate,
    DocumentKind,
    OrgCategory,
    Registration,
    Stage,
    WorkerKind,
)


def choices(enum_cls):
    return [(m.value, m.title) for m in enum_cls]


class OrgForm(FlaskForm):
    name = StringField(_l("Name of the organisation"), validators=[DataRequired(),
                                                                   Length(max=200)])
    category = SelectField(_l("Category"), choices=[])
    registration = SelectField(_l("Registration"), choices=[])
    uscc = StringField(_l("Unified social credit code (registered organisations)"),
                       validators=[Optional(), Length(max=40)],
                       render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    uscc_confirmed = BooleanField(
        _l("The code fails the check, but my registration certificate shows exactly this code"))
    uscc_override_reason = TextAreaField(
        _l("Bureau only: record a code that fails the check, with the reason"),
        validators=[Optional(), Length(max=1000)])
    community_code = SelectField(_l("Home community"), choices=[])
    founded_on = DateField(_l("Founded on"), validators=[Optional()])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(),
                                                                 Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[DataRequired(), Length(max=30)],
                                render_kw={"inputmode": "tel", "autocomplete": "tel"})
    description = TextAreaField(_l("What the organisation does"),
                                validators=[Optional(), Length(max=5000)])
    address = StringField(_l("Address (where it meets or works)"),
                          validators=[Optional(), Length(max=200)])
    rating = SelectField(_l("Evaluation grade (if known)"), choices=[], default="")
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = choices(OrgCategory)
        self.registration.choices = choices(Registration)
        self.rating.choices = [("", "—")] + [(r, r) for r in RATINGS]
        self.community_code.choices = community_choices(list(communities))


class ReviewForm(FlaskForm):
    # No decision is chosen for the reviewer: a consequential choice never defaults.
    decision = SelectField(_l("Decision"), choices=[
        ("", _l("Choose…")), ("approve", _l("Approve")), ("request_changes", _l("Ask for changes")),
        ("reject", _l("Reject"))], validators=[DataRequired(_l("Choose a decision."))])
    comment = TextAreaField(_l("Comment (required unless approving)"),
                            validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record the decision"))


class StatusForm(FlaskForm):
    to = SelectField(_l("New status"), choices=[])
    comment = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Change status"))


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Resubmit for review"))


class AdminForm(FlaskForm):
    username = StringField(_l("Username of the new admin"), validators=[DataRequired(),
                                                                        Length(max=64)])
    submit = SubmitField(_l("Add admin"))


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Document"), choices=[])
    file = FileField(_l("File (PDF, PNG or JPEG)"))
    submit = SubmitField(_l("Upload"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(DocumentKind)


class IncubationForm(FlaskForm):
    plan = TextAreaField(_l("Plan for the incubation"), validators=[DataRequired(),
                                                                    Length(max=10000)])
    submit = SubmitField(_l("Apply to the incubation base"))


class MoveForm(FlaskForm):
    to = SelectField(_l("Move to"), choices=[])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Move"))

    def __init__(self, *args, stages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.to.choices = [(s.value, s.title) for s in stages] or choices(Stage)


class WorkerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)],
                        render_kw={"inputmode": "tel"})
    kind = SelectField(_l("Kind"), choices=[])
    certificate = SelectField(_l("Social work certificate"), choices=[])
    employer_community_code = SelectField(_l("Employer: community"), choices=[], default="")
    employer_org_id = SelectField(_l("or employer: organisation"), choices=[], default="")
    submit = SubmitField(_l("Register"))

    def __init__(self, *args, communities=(), orgs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(WorkerKind)
        self.certificate.choices = choices(Certificate)
        self.employer_community_code.choices = community_choices(list(communities),
                                                                 first=("", "—"))
        self.employer_org_id.choices = [("", "—")] + [(str(o.id), o.name) for o in orgs]
