"""Forms of the charity pages: validation of what was typed; the services judge the rest
(amounts are read by core/money.py, as in the API)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional


class FundForm(FlaskForm):
    name = StringField(_l("Name of the fund"), validators=[DataRequired(), Length(max=200)])
    area_code = SelectField(_l("Township or community it serves"), choices=[])
    host_org_id = SelectField(_l("Charity holding the money"), choices=[], coerce=int)
    purpose = TextAreaField(_l("What it is for"), validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 3})
    submit = SubmitField(_l("Open the fund"))


class GoodsLine(FlaskForm):
    """One kind of goods (a page takes one at a time; the API takes a list)."""
    item_name = StringField(_l("Goods"), validators=[Optional(), Length(max=100)])
    item_quantity = StringField(_l("Quantity"), validators=[Optional(), Length(max=20)],
                                render_kw={"inputmode": "decimal"})
    item_unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    item_value = StringField(_l("Value of one (yuan)"), validators=[Optional(), Length(max=20)],
                             render_kw={"inputmode": "decimal"})


class PledgeForm(GoodsLine):
    donor_name = StringField(_l("Donor's name"), validators=[DataRequired(), Length(max=200)])
    donor_kind = SelectField(_l("Donor"), choices=[])
    anonymous = BooleanField(_l("Keep the name from the public (anonymous)"))
    kind = SelectField(_l("What is pledged"), choices=[])
    amount = StringField(_l("Amount (yuan)"), validators=[Optional(), Length(max=20)],
                         render_kw={"inputmode": "decimal", "placeholder": "500.00"})
    hours = StringField(_l("Service hours"), validators=[Optional(), Length(max=10)],
                        render_kw={"inputmode": "decimal"})
    due_on = DateField(_l("To be given by"), validators=[Optional()])
    offline = BooleanField(_l("Recorded for a donor who pledged in person"))
    submit = SubmitField(_l("Pledge"))


class MovementForm(GoodsLine):
    type = SelectField(_l("Movement"), choices=[])
    amount = StringField(_l("Amount (yuan)"), validators=[Optional(), Length(max=20)],
                         render_kw={"inputmode": "decimal"})
    purpose = StringField(_l("Purpose (the public reads it)"),
                          validators=[Optional(), Length(max=2000)])
    donor_name = StringField(_l("Donor's name"), validators=[Optional(), Length(max=200)])
    anonymous = BooleanField(_l("Keep the name from the public (anonymous)"))
    pledge_id = SelectField(_l("Against the pledge"), choices=[], coerce=int,
                            validate_choice=False)
    need_id = IntegerField(_l("For need no."), validators=[Optional()])
    wish_id = IntegerField(_l("For micro-wish no."), validators=[Optional()])
    project_id = IntegerField(_l("For project no."), validators=[Optional()])
    submit = SubmitField(_l("Record"))


class ReversalForm(FlaskForm):
    reverses = IntegerField(validators=[DataRequired()])
    reason = StringField(_l("Why (the public reads it)"), validators=[DataRequired(),
                                                                     Length(max=2000)])
    submit = SubmitField(_l("Correct by a reversal"))


class PledgeActionForm(FlaskForm):
    """A pledge's row on the fund's page: hours given (the host), or cancelled (the host or the
    donor), with why."""
    hours = StringField(_l("Hours given"), validators=[Optional(), Length(max=12)])
    reason = StringField(_l("Why"), validators=[Optional(), Length(max=2000)])


class PeriodForm(FlaskForm):
    period = StringField(validators=[DataRequired(), Length(max=8)])
    submit = SubmitField(_l("Publish the statement"))


class WishForm(FlaskForm):
    community_code = SelectField(_l("Community"), choices=[])
    alias = StringField(_l("Alias shown to the public"), validators=[DataRequired(),
                                                                     Length(max=50)],
                        render_kw={"placeholder": "王奶奶"})
    title = StringField(_l("What is wished"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Goods or a service"), choices=[])
    estimated_value = StringField(_l("Estimated value (yuan)"),
                                  validators=[DataRequired(), Length(max=20)],
                                  render_kw={"inputmode": "decimal"})
    story = TextAreaField(_l("A short story (no names)"), validators=[Optional(),
                                                                       Length(max=2000)],
                          render_kw={"rows": 3})
    name = StringField(_l("Beneficiary's name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Beneficiary's phone"), validators=[DataRequired(), Length(max=30)],
                        render_kw={"inputmode": "tel"})
    address = StringField(_l("Beneficiary's address"), validators=[DataRequired(),
                                                                   Length(max=300)])
    submit = SubmitField(_l("Publish the wish"))


class WishActionForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)],
                         render_kw={"rows": 2})
    photo = FileField(_l("Photo (optional)"))
    org_id = SelectField(_l("Claim for"), choices=[], coerce=int, validate_choice=False)
    submit = SubmitField(_l("Save"))
