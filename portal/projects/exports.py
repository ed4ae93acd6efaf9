"""Projects, bids, scores and evaluations of an area as one workbook (Chinese headers)."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask_babel import force_locale

from portal.core.areas import under
from portal.core.db import SHANGHAI
from portal.core.excel import add_sheet as _sheet
from portal.core.excel import caption, new_book, saved
from portal.extensions import db
from portal.projects.models import Bid, Evaluation, Project, ScoreSheet, money


def projects_workbook(area_code: str, area_name: str) -> io.BytesIO:
    with force_locale("zh_Hans_CN"):
        return _workbook(area_code, area_name)


def _workbook(area_code: str, area_name: str) -> io.BytesIO:
    from portal.projects.services import poor_grade_orgs

    projects = db.session.scalars(sa.select(Project).where(under(Project.area_code, area_code))
                                  .order_by(Project.id)).all()
    ids = [p.id for p in projects]
    bids = db.session.scalars(sa.select(Bid).where(Bid.project_id.in_(ids))
                              .order_by(Bid.project_id, Bid.id)).all() if ids else []
    sheets = db.session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.bid_id.in_([b.id for b in bids])).order_by(ScoreSheet.bid_id)).all() \
        if bids else []
    evaluations = db.session.scalars(sa.select(Evaluation).where(
        Evaluation.project_id.in_(ids))).all() if ids else []
    titles = {p.id: p.title for p in projects}
    flagged = poor_grade_orgs(b.org_id for b in bids)
    book = new_book()
    _sheet(book, "项目", ["编号", "名称", "类型", "区划代码", "年度", "预算(元)", "截止时间",
                        "状态", "中标组织", "中标金额(元)", "合同开始", "合同结束"],
           [[p.id, p.title, p.kind.title, p.area_code, p.year, money(p.budget),
             p.bid_deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"), p.status.title,
             p.awarded_bid.org.name if p.awarded_bid else "", money(p.award_amount) or "",
             p.contract_start.isoformat() if p.contract_start else "",
             p.contract_end.isoformat() if p.contract_end else ""] for p in projects],
           title=caption("政府购买服务与公益创投项目", area_name), money=(5, 9))
    _sheet(book, "投标", ["投标编号", "项目编号", "项目名称", "组织", "申请金额(元)", "状态",
                        "曾被评为差"],
           [[b.id, b.project_id, titles.get(b.project_id, ""), b.org.name,
             money(b.requested_amount), b.status.title, "是" if b.org_id in flagged else ""]
            for b in bids], money=(4,))
    _sheet(book, "评分", ["投标编号", "评审专家", "利益冲突", "各项评分", "加权得分", "意见"],
           [[s.bid_id, s.reviewer.username, "是" if s.conflict_of_interest else "否",
             "；".join(f"{k}:{v}" for k, v in (s.scores or {}).items()),
             float(s.weighted) if s.weighted is not None else "", s.comment or ""]
            for s in sheets])
    _sheet(book, "绩效评估", ["项目编号", "项目名称", "得分", "等级", "意见"],
           [[e.project_id, titles.get(e.project_id, ""), float(e.score), e.grade,
             e.comment or ""] for e in evaluations])
    return saved(book)
