"""Forms of the project pages. They check only the shape of the input (a number is a number);
every rule of the call (weights summing to 100, the budget, the catalogue, the states) is the
service's, and its messages are put by the fields (portal.core.views.submit)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.core.forms import MultiCheckboxField

CRITERIA_ROWS = 5
TIER_ROWS = 3


class _Row(FlaskForm):
    """A row inside a FieldList: the outer form carries the CSRF token."""

    class Meta:
        csrf = False


class CriterionRow(_Row):
    name = StringField(_l("Criterion"), validators=[Optional(), Length(max=100)])
    weight = IntegerField(_l("Weight"), validators=[Optional()],
                          render_kw={"inputmode": "numeric"})


class TierRow(_Row):
    name = StringField(_l("Tier"), validators=[Optional(), Length(max=100)])
    max_amount = StringField(_l("Ceiling (yuan)"), validators=[Optional(), Length(max=20)],
                             render_kw={"inputmode": "decimal"})


class ProjectForm(FlaskForm):
    title = StringField(_l("Project title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Type of project"), choices=[])
    area_code = SelectField(_l("Area"), choices=[])
    catalogue_item_id = SelectField(_l("Catalogue item (required for a government purchase)"),
                                    choices=[], coerce=int)
    budget = StringField(_l("Budget (yuan)"), validators=[DataRequired(), Length(max=20)],
                         render_kw={"inputmode": "decimal", "placeholder": "50000.00"})
    bid_deadline = DateTimeLocalField(_l("Bid deadline (Beijing time)"),
                                      format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    description = TextAreaField(_l("Project description"),
                                validators=[Optional(), Length(max=20000)],
                                render_kw={"rows": 5})
    service_targets = TextAreaField(_l("Service targets (服务对象)"),
                                    validators=[Optional(), Length(max=2000)],
                                    render_kw={"rows": 2})
    contract_months = IntegerField(_l("Contract term (months)"), validators=[Optional()],
                                   render_kw={"inputmode": "numeric"})
    allow_filed = BooleanField(_l("Filed (备案) groups may bid (venture philanthropy only)"))
    blind_review = BooleanField(_l("Blind review: reviewers do not see who bid"))
    criteria = FieldList(FormField(CriterionRow), min_entries=CRITERIA_ROWS,
                         max_entries=CRITERIA_ROWS)
    tiers = FieldList(FormField(TierRow), min_entries=TIER_ROWS, max_entries=TIER_ROWS)
    # 需求清单: verified needs of the area the call answers (publishing matches them).
    need_ids = MultiCheckboxField(_l("Residents' needs it answers"), coerce=int, choices=[],
                                  validate_choice=False)
    submit = SubmitField(_l("Save the draft"))


# --- the project page: one small form per action, each with its own button name -----------

class PublishForm(FlaskForm):
    publish = SubmitField(_l("Publish the call"))


class CancelForm(FlaskForm):
    cancel_reason = StringField(_l("Why it is cancelled"),
                                validators=[DataRequired(), Length(max=2000)])
    cancel = SubmitField(_l("Cancel the project"))


class AssignForm(FlaskForm):
    reviewer = SelectField(_l("Reviewer from the pool"), choices=[], coerce=int)
    assign = SubmitField(_l("Assign"))


class DrawForm(FlaskForm):
    count = IntegerField(_l("How many to draw"), validators=[InputRequired()], default=3,
                         render_kw={"inputmode": "numeric"})
    draw = SubmitField(_l("Draw at random"))


class AwardForm(FlaskForm):
    # No bid is chosen for the bureau (the list's first is not the best): it picks one.
    bid = SelectField(_l("Winning bid"), choices=[],
                      coerce=lambda v: int(v) if v not in (None, "") else None,
                      validators=[InputRequired(_l("Choose the winning bid."))])
    award_amount = StringField(_l("Amount (yuan; the bid's if empty)"),
                               validators=[Optional(), Length(max=20)],
                               render_kw={"inputmode": "decimal"})
    contract_start = DateField(_l("Contract start"), validators=[Optional()])
    contract_end = DateField(_l("Contract end"), validators=[Optional()])
    # Co-funding by a community fund: paid out to the project in the award's transaction.
    cofund_fund = SelectField(_l("Co-funded by a community fund (optional)"), choices=[],
                              coerce=lambda v: int(v) if v not in (None, "") else None,
                              validate_choice=False)
    cofund_amount = StringField(_l("Amount from the fund (yuan)"),
                                validators=[Optional(), Length(max=20)],
                                render_kw={"inputmode": "decimal"})
    award = SubmitField(_l("Award"))


class MilestoneForm(FlaskForm):
    milestone_title = StringField(_l("Milestone"), validators=[DataRequired(), Length(max=200)])
    due_on = DateField(_l("Due on"), validators=[DataRequired()])
    add_milestone = SubmitField(_l("Add the milestone"))


class AcceptForm(FlaskForm):
    """Prefixed with the milestone (m<id>-), one per reported milestone."""

    accept_comment = StringField(_l("Acceptance comment"),
                                 validators=[Optional(), Length(max=5000)])
    accept = SubmitField(_l("Accept the milestone"))


class ReportForm(FlaskForm):
    """Prefixed with the milestone (m<id>-), one per milestone of the winner."""

    report = TextAreaField(_l("Report"), validators=[DataRequired(), Length(max=20000)],
                           render_kw={"rows": 3})
    report_file = FileField(_l("Attachment (PDF or image, optional)"))
    send_report = SubmitField(_l("Send the report"))


class EvaluationForm(FlaskForm):
    eval_score = DecimalField(_l("Performance score (0–100)"), places=2,
                              validators=[InputRequired()], render_kw={"inputmode": "decimal"})
    eval_comment = TextAreaField(_l("Evaluation comment"),
                                 validators=[Optional(), Length(max=5000)],
                                 render_kw={"rows": 2})
    evaluate = SubmitField(_l("Evaluate and close"))


class BidForm(FlaskForm):
    org = SelectField(_l("Organisation"), choices=[],
                      coerce=lambda v: int(v) if v not in (None, "") else None,
                      validators=[InputRequired(_l("Choose the organisation that bids."))])
    requested_amount = StringField(_l("Requested amount (yuan)"),
                                   validators=[DataRequired(), Length(max=20)],
                                   render_kw={"inputmode": "decimal"})
    tier = SelectField(_l("Tier"), choices=[], validate_choice=False)
    proposal = TextAreaField(_l("Proposal"), validators=[Optional(), Length(max=50000)],
                             render_kw={"rows": 5})
    attachment = FileField(_l("Attachment with the bid (PDF or image, optional; more later)"))
    place_bid = SubmitField(_l("Submit the bid"))


class BidEditForm(FlaskForm):
    """Prefixed with the bid (bid<id>-), one per own bid."""

    amount = StringField(_l("Requested amount (yuan)"),
                         validators=[DataRequired(), Length(max=20)],
                         render_kw={"inputmode": "decimal"})
    tier = SelectField(_l("Tier"), choices=[], validate_choice=False)
    proposal = TextAreaField(_l("Proposal"), validators=[Optional(), Length(max=50000)],
                             render_kw={"rows": 4})
    save_bid = SubmitField(_l("Save the bid"))


class AttachForm(FlaskForm):
    """Prefixed with the bid (bid<id>-): attach a PDF or image to one's bid."""

    file = FileField(_l("Attachment (PDF or image)"))
    attach = SubmitField(_l("Attach"))


class PoolForm(FlaskForm):
    area = SelectField(_l("Area"), choices=[])
    username = StringField(_l("Account of the expert"), validators=[DataRequired(),
                                                                    Length(max=64)])
    expertise = StringField(_l("Field of expertise"), validators=[Optional(), Length(max=100)])
    add_member = SubmitField(_l("Add to the pool"))


class WithdrawForm(FlaskForm):
    """Prefixed with the bid (bid<id>-), like its BidEditForm."""

    withdraw = SubmitField(_l("Withdraw the bid"))


# --- the review page --------------------------------------------------------------------------

class ScoreForm(FlaskForm):
    """Prefixed with the bid (bid<id>-); score_0 … are added per criterion (score_form)."""

    conflict = RadioField(
        _l("Conflict of interest"), choices=[],  # set by score_form
        invalid_choice_message=_l("Declare first whether you have a conflict of interest."))
    comment = TextAreaField(_l("Reviewer's comment"), validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 3})
    send_scores = SubmitField(_l("Submit my scores"))


def score_form(criteria, prefix: str) -> ScoreForm:
    """A ScoreForm with a 0–100 field per criterion, named score_<position>."""

    class Form(ScoreForm):
        pass

    for i, criterion in enumerate(criteria):
        setattr(Form, f"score_{i}", IntegerField(
            f"{criterion.name} ({criterion.weight}%)", validators=[Optional()],
            render_kw={"inputmode": "numeric", "min": 0, "max": 100}))
    form = Form(prefix=prefix)
    form.conflict.choices = [
        ("no", _l("I have no conflict of interest with this bidder")),
        ("yes", _l("I have a conflict of interest: I will not score this bid"))]
    return form


# --- the catalogue ----------------------------------------------------------------------------

class CatalogueItemForm(FlaskForm):
    area = SelectField(_l("Area"), choices=[])
    year = IntegerField(_l("Year"), validators=[InputRequired()],
                        render_kw={"inputmode": "numeric"})
    name = StringField(_l("Service"), validators=[DataRequired(), Length(max=200)])
    category = StringField(_l("Category"), validators=[DataRequired(), Length(max=100)])
    unit = StringField(_l("Unit of measure (计量单位)"),
                       validators=[DataRequired(), Length(max=50)])
    add_item = SubmitField(_l("Add to the catalogue"))


class PublishCatalogueForm(FlaskForm):
    publish_catalogue = SubmitField(_l("Publish this year's catalogue"))
