"""社会慈善资源: community funds held by a registered charity, pledges (认捐), the append-only
ledger (台账) that is their truth, the statements that disclose it (信息公开), and 微心愿.

A fund's figures (balance, totals, goods held) are kept on its row in the transaction of each
movement, under CHECKs that they never go below zero, so that fifty disbursements at once can
never overdraw it: each is one conditional UPDATE. Each movement carries its own effect on the
balance (`delta`) and on the goods held (`goods_delta`), so the figures are the sums of the
ledger, which `flask --app portal funds check` recomputes. The database refuses UPDATE and
DELETE on movements (triggers, like the audit trail's): a mistake is corrected by a reversal.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, parse_id, str_enum, utcnow
from portal.extensions import db

Money = sa.Numeric(14, 2)
Quantity = sa.Numeric(14, 3)
ZERO = Decimal("0.00")


class FundState(enum.StrEnum):
    open = "open"
    closed = "closed"

    @property
    def title(self) -> str:
        return str({FundState.open: _l("Open"), FundState.closed: _l("Closed")}[self])


class Fund(db.Model):
    __tablename__ = "funds"
    __table_args__ = (
        sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
        sa.CheckConstraint("goods_value_held >= 0", name="goods_not_negative"),
        sa.Index("ix_funds_area_code", "area_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    area_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    host_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    purpose: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[FundState] = mapped_column(str_enum(FundState, 16), default=FundState.open)
    balance: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    received_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    disbursed_total: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    goods_value_in: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    goods_value_out: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    goods_value_held: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship("Area", lazy="joined")
    host = relationship("Org", lazy="joined")


class Stock(db.Model):
    """Goods a fund holds, by item and unit: a goods-out beyond the quantity held is refused."""

    __tablename__ = "fund_stock"
    __table_args__ = (
        sa.UniqueConstraint("fund_id", "name", "unit", name="uq_fund_stock_item"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(sa.ForeignKey("funds.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    value: Mapped[Decimal] = mapped_column(Money, default=ZERO)


class DonorKind(enum.StrEnum):
    person = "person"
    organisation = "organisation"
    company = "company"

    @property
    def title(self) -> str:
        return str({DonorKind.person: _l("Person"), DonorKind.organisation: _l("Organisation"),
                    DonorKind.company: _l("Company")}[self])


class PledgeKind(enum.StrEnum):
    money = "money"
    goods = "goods"
    service = "service"

    @property
    def title(self) -> str:
        return str({PledgeKind.money: _l("Money"), PledgeKind.goods: _l("Goods"),
                    PledgeKind.service: _l("Service hours")}[self])


class PledgeState(enum.StrEnum):
    pledged = "pledged"
    partly_received = "partly_received"
    received = "received"
    cancelled = "cancelled"

    @property
    def title(self) -> str:
        return str({PledgeState.pledged: _l("Pledged"),
                    PledgeState.partly_received: _l("Partly received"),
                    PledgeState.received: _l("Received"),
                    PledgeState.cancelled: _l("Cancelled")}[self])


class Pledge(db.Model):
    """认捐: a promise of money, goods or service hours, for the fund or something it serves."""

    __tablename__ = "pledges"
    __table_args__ = (
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
        sa.CheckConstraint("received >= 0", name="received_not_negative"),
        sa.CheckConstraint("hours_given >= 0", name="hours_given_not_negative"),
        sa.Index("ix_pledges_fund_status", "fund_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(sa.ForeignKey("funds.id"))
    donor_name: Mapped[str] = mapped_column(sa.String(200))
    donor_kind: Mapped[DonorKind] = mapped_column(str_enum(DonorKind, 16))
    anonymous: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    kind: Mapped[PledgeKind] = mapped_column(str_enum(PledgeKind, 16))
    amount: Mapped[Decimal | None] = mapped_column(Money)        # money
    items: Mapped[list | None] = mapped_column(sa.JSON)           # goods: [{name, quantity, ...}]
    hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 1))  # service
    value: Mapped[Decimal] = mapped_column(Money)  # yuan: the amount, or the goods' value
    received: Mapped[Decimal] = mapped_column(Money, default=ZERO, server_default="0")
    # Service hours are not money and never enter the ledger: the host records the hours given.
    hours_given: Mapped[Decimal] = mapped_column(sa.Numeric(8, 1), default=ZERO,
                                                 server_default="0")
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    need_id: Mapped[int | None] = mapped_column(sa.ForeignKey("needs.id"))
    wish_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wishes.id"))
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"))
    status: Mapped[PledgeState] = mapped_column(str_enum(PledgeState, 20),
                                                default=PledgeState.pledged)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fund: Mapped[Fund] = relationship(lazy="joined")


class MovementType(enum.StrEnum):
    receipt = "receipt"
    disbursement = "disbursement"
    goods_in = "goods_in"
    goods_out = "goods_out"
    reversal = "reversal"

    @property
    def title(self) -> str:
        return str({MovementType.receipt: _l("Income"),
                    MovementType.disbursement: _l("Paid out"),
                    MovementType.goods_in: _l("Goods received"),
                    MovementType.goods_out: _l("Goods given out"),
                    MovementType.reversal: _l("Correction")}[self])


class Movement(db.Model):
    """台账: one line of a fund's ledger, never changed or deleted."""

    __tablename__ = "movements"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.Index("ix_movements_fund_at", "fund_id", "at", "id"),
        sa.UniqueConstraint("reverses_id", name="uq_movements_reverses_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(sa.ForeignKey("funds.id"))
    type: Mapped[MovementType] = mapped_column(str_enum(MovementType, 16))
    amount: Mapped[Decimal] = mapped_column(Money)  # yuan: the money, or the goods' value
    items: Mapped[list | None] = mapped_column(sa.JSON)
    # Its effect on the balance and on the value of the goods held: the fund's figures are the
    # sums of these (`funds check`).
    delta: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    goods_delta: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    pledge_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pledges.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"))
    need_id: Mapped[int | None] = mapped_column(sa.ForeignKey("needs.id"))
    wish_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wishes.id"))
    purpose: Mapped[str | None] = mapped_column(sa.Text)
    donor_name: Mapped[str | None] = mapped_column(sa.String(200))
    donor_kind: Mapped[DonorKind | None] = mapped_column(str_enum(DonorKind, 16))
    anonymous: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("movements.id"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Disclosure(db.Model):
    """A published statement: a frozen snapshot of a quarter (2026Q3) or a year (2026)."""

    __tablename__ = "disclosures"
    __table_args__ = (sa.UniqueConstraint("fund_id", "period", name="uq_disclosures_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(sa.ForeignKey("funds.id"))
    period: Mapped[str] = mapped_column(sa.String(8))
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                   ondelete="SET NULL"))


class WishKind(enum.StrEnum):
    goods = "goods"
    service = "service"

    @property
    def title(self) -> str:
        return str({WishKind.goods: _l("Goods"), WishKind.service: _l("A service")}[self])


class WishState(enum.StrEnum):
    published = "published"
    claimed = "claimed"
    fulfilled = "fulfilled"
    confirmed = "confirmed"
    cancelled = "cancelled"

    @property
    def title(self) -> str:
        return str({WishState.published: _l("Waiting for a kind heart"),
                    WishState.claimed: _l("Claimed"), WishState.fulfilled: _l("Fulfilled"),
                    WishState.confirmed: _l("Received by the beneficiary"),
                    WishState.cancelled: _l("Cancelled")}[self])


WISH_MOVES = {
    WishState.published: {WishState.claimed, WishState.cancelled},
    WishState.claimed: {WishState.published, WishState.fulfilled, WishState.cancelled},
    WishState.fulfilled: {WishState.confirmed},
}


class Wish(db.Model):
    """微心愿: a small wish of a person in difficulty, verified by a home visit, published under
    an alias. The beneficiary's name, phone and address are kept encrypted, for the community's
    workers (and the bureau) only."""

    __tablename__ = "wishes"
    __table_args__ = (
        sa.CheckConstraint("estimated_value > 0", name="value_positive"),
        sa.Index("ix_wishes_community_status", "community_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(sa.ForeignKey("areas.code"))
    alias: Mapped[str] = mapped_column(sa.String(50))
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[WishKind] = mapped_column(str_enum(WishKind, 16))
    estimated_value: Mapped[Decimal] = mapped_column(Money)
    story: Mapped[str | None] = mapped_column(sa.Text)
    beneficiary: Mapped[str] = mapped_column(sa.Text)  # encrypted JSON {name, phone, address}
    status: Mapped[WishState] = mapped_column(str_enum(WishState, 16),
                                              default=WishState.published)
    claimed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    claim_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfil_note: Mapped[str | None] = mapped_column(sa.Text)
    photo_key: Mapped[str | None] = mapped_column(sa.String(100))
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community = relationship("Area", lazy="joined")


def _register_audit_objects() -> None:
    from portal.core.audit import OBJECT_TITLES, register_object, register_states

    register_states(FundState, PledgeState, WishState)
    OBJECT_TITLES["fund"] = _l("Community fund")
    OBJECT_TITLES["pledge"] = _l("Pledge")
    OBJECT_TITLES["wish"] = _l("Micro-wish")

    @register_object("fund")
    def _fund_area(object_id: str) -> str | None:
        row = db.session.get(Fund, parse_id(object_id) or 0)
        return row.area_code if row is not None else None

    @register_object("wish")
    def _wish_area(object_id: str) -> str | None:
        row = db.session.get(Wish, parse_id(object_id) or 0)
        return row.community_code if row is not None else None


_register_audit_objects()
