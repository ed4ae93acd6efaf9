"""Forms of the needs pages: validation of what was typed; the services judge the rest."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.needs.models import Channel, Urgency
from portal.volunteers.catalogues import SERVICE_TYPES


class NeedForm(FlaskForm):
    community_code = SelectField(_l("Community"), validators=[DataRequired()], choices=[])
    category = SelectField(_l("What kind of help"), validators=[DataRequired()],
                           choices=[(k, v) for k, v in SERVICE_TYPES.items()])
    title = StringField(_l("In a few words"), validators=[DataRequired(), Length(max=200)],
                        render_kw={"placeholder": _l("For example: the stair rail of building 3 "
                                                     "is loose")})
    description = TextAreaField(_l("What is needed, for whom, where"),
                                validators=[DataRequired(), Length(max=5000)],
                                render_kw={"rows": 5})
    people_affected = IntegerField(_l("How many people it concerns"), default=1,
                                   validators=[InputRequired(),
                                               NumberRange(min=1, max=100000)],
                                   render_kw={"inputmode": "numeric", "min": 1})
    urgency = SelectField(_l("How urgent"), choices=[], default="normal")
    # A community worker posting for a resident who came in, phoned or was visited.
    channel = SelectField(_l("How the resident told us"), choices=[], default="visit")
    for_name = StringField(_l("Resident's name"), validators=[Optional(), Length(max=100)])
    for_phone = StringField(_l("Resident's phone"), validators=[Optional(), Length(max=30)],
                            render_kw={"inputmode": "tel"})
    submit = SubmitField(_l("Post the need"))


    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # In the reader's language: titles are read per request, not when the module loads.
        self.urgency.choices = [(u.value, u.title) for u in Urgency]
        self.channel.choices = [(c.value, c.title) for c in Channel]


class TextForm(FlaskForm):
    """A worker's decision with a text for the resident (verify, reject, resolve)."""
    text = TextAreaField(_l("For the resident"), validators=[Optional(), Length(max=2000)],
                         render_kw={"rows": 2})
    submit = SubmitField(_l("Save"))


class MergeForm(FlaskForm):
    into = SelectField(_l("The same as"), coerce=lambda v: int(v) if str(v).isdigit() else None,
                       choices=[], validate_choice=False)
    submit = SubmitField(_l("Merge into it"))


class MatchForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    target_id = IntegerField(validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Match"))


class SupportForm(FlaskForm):
    submit = SubmitField(_l("I need this too"))
