"""Demo data for `make run`: a small, believable Yingkou where every journey has something to
do. Yingkou's divisions and a few communities; staff of each role; organisations with their own
admins and contacts, incubations in every stage; activities with a shift running now (check in
and out), past and weekly ones; a volunteer past the first star; a 公益创投 call open for bids
and another under review with bids assigned to demo_reviewer.

Idempotent: run it any number of times (each part is made once; a part added later is made on
the next run). The demo password is made once, kept in instance/demo-password (never
committed) and printed each time.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portal.activities.models import Activity
from portal.core.areas import Area, AreaData, create_area, import_areas
from portal.core.db import SHANGHAI
from portal.core.users import Grant, Role, User, create_user
from portal.extensions import db
from portal.orgs import uscc
from portal.orgs.models import (
    Certificate,
    LegalType,
    Org,
    OrgAdmin,
    OrgCategory,
    OrgState,
    Registration,
    Worker,
    WorkerKind,
)

COMMUNITIES = [
    # code, name, population, households
    ("210802001001", "八田地社区", 6200, 2300),
    ("210802001002", "胜利社区", 5400, 2050),
    ("210802002001", "建丰社区", 4800, 1800),
    ("210804100201", "熊岳村", 2600, 900),
    ("210804100202", "古城村", 1900, 700),
    ("210881102201", "高屯村", 2100, 760),
]

ACCOUNTS = [
    ("demo_admin", [Grant(Role.admin)]),
    ("demo_bureau", [Grant(Role.bureau, "2108")]),
    ("demo_bureau_zq", [Grant(Role.bureau, "210802")]),
    ("demo_worker", [Grant(Role.community_worker, "210802001001")]),
    ("demo_org", [Grant(Role.org_admin)]),
    ("demo_org_xy", [Grant(Role.org_admin)]),
    ("demo_reviewer", [Grant(Role.reviewer)]),
    ("demo_volunteer", [Grant(Role.volunteer)]),
    ("demo_resident", [Grant(Role.resident, "210802001001")]),
]

# Names as the pages show them (a login name is not a person's name).
DISPLAY_NAMES = {"demo_worker": "李红（八田地社区）", "demo_org": "王建国",
                 "demo_volunteer": "张秀英", "demo_resident": "刘大爷"}


def demo_password() -> str:
    path = Path(current_app.instance_path) / "demo-password"
    if path.exists():
        return path.read_text().strip()
    password = "demo-" + secrets.token_urlsafe(9)
    path.write_text(password)
    path.chmod(0o600)
    return password


def create_demo(divisions_csv: Path) -> tuple[str, bool]:
    password = demo_password()
    import_areas(divisions_csv.read_text(encoding="utf-8"))
    created = False
    for code, name, population, households in COMMUNITIES:
        if db.session.get(Area, code) is None:
            create_area(AreaData(code=code, name=name, population=population,
                                 households=households), actor=None)
            created = True
    for username, grants in ACCOUNTS:
        if db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
            user = create_user(username, password, grants, actor=None,
                               display_name=DISPLAY_NAMES.get(username))
            if username == "demo_worker":  # the micro-wishes' hand-over contact
                user.phone = "13904172888"
            created = True
    if db.session.scalar(sa.select(sa.func.count()).select_from(Org)) == 0:
        _demo_orgs()
        created = True
    if db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0:
        _demo_activities()
        created = True
    from portal.projects.models import Project
    from portal.records.models import ServiceRecord

    if db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRecord)) == 0:
        _demo_service()
        created = True
    if db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0:
        _demo_projects()
        created = True
    from portal.orgs.models import Incubation

    if db.session.scalar(sa.select(sa.func.count()).select_from(Incubation)) == 0:
        _demo_incubations()
        created = True
    if db.session.scalar(sa.select(sa.func.count()).select_from(Project).where(
            Project.title == REVIEW_CALL)) == 0:
        _demo_review_call()
        created = True
    if db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(
            Activity.title == RUNNING_NOW)) == 0:
        _demo_running_shift()
        created = True
    from portal.needs.models import Need

    if db.session.scalar(sa.select(sa.func.count()).select_from(Need)) == 0:
        _demo_needs()
        created = True
    from portal.charity.models import Fund

    if db.session.scalar(sa.select(sa.func.count()).select_from(Fund)) == 0:
        _demo_charity()
        created = True
    return password, created


DEMO_NEEDS = [
    # community, category, title, description, state
    ("210802001001", "elderly_care", "3号楼楼道扶手松动", "3号楼2单元楼道扶手松动，楼里住着十几位"
     "老人，上下楼不安全，希望尽快修好。", "submitted"),
    ("210802001001", "elderly_care", "独居老人希望每周有人上门聊天", "8号楼几位独居老人白天没人"
     "说话，希望有志愿者每周上门陪伴聊天。", "stale"),
    ("210802001001", "child_care", "双职工家庭孩子放学后无人照看", "小区里不少孩子放学后到家长下班"
     "前无人照看，希望有课后托管。", "matched"),
    ("210802001001", "health", "老人希望定期免费量血压", "社区老人多，希望每月有一次免费量"
     "血压、测血糖。", "resolved"),
    ("210802001001", "environment", "小区垃圾分类点缺少指引", "小区垃圾分类点没有指引牌，居民"
     "分不清，希望有人来讲解。", "verified"),
]


def _demo_needs() -> None:
    """Needs in every state, the resident's own among them (needs dashboard, /needs, /me)."""
    from datetime import timedelta

    from portal.core.db import utcnow
    from portal.needs import services as needs
    from portal.needs.models import MatchKind

    resident = db.session.scalar(sa.select(User).where(User.username == "demo_resident"))
    worker = db.session.scalar(sa.select(User).where(User.username == "demo_worker"))
    bureau = db.session.scalar(sa.select(User).where(User.username == "demo_bureau_zq"))
    if resident.phone is None:
        resident.phone, resident.phone_verified_at = "13900000001", utcnow()
    org = db.session.scalar(sa.select(Org).where(Org.status == OrgState.active)
                            .order_by(Org.id))
    for i, (community, category, title, description, state) in enumerate(DEMO_NEEDS):
        mine = i < 3  # the resident's own; the others a worker took down on a home visit
        need = needs.post_need(needs.NeedInput(
            community_code=community, category=category, title=title, description=description,
            people_affected=12, urgency="normal",
            for_name=None if mine else "王阿姨", for_phone=None if mine else "13904170002"),
            actor=resident if mine else worker)
        if state == "submitted":
            continue
        needs.verify(need, "社区工作人员已上门核实", actor=bureau)
        # When it happened, as a worker would have over the weeks (posted, verified, matched).
        posted, verified, matched = {"stale": (47, 45, None), "matched": (30, 28, 9),
                                     "resolved": (75, 70, 52)}.get(state, (3, 2, None))
        need.created_at = utcnow() - timedelta(days=posted)
        need.verified_at = utcnow() - timedelta(days=verified)
        if matched is not None and org is not None:
            needs.add_match(need, MatchKind.org, org.id, "已联系组织对接", actor=bureau)
            need.matched_at = utcnow() - timedelta(days=matched)
            need.minutes_to_match = (verified - matched) * 1440
        if state == "resolved":
            needs.resolve(need, "每月第一个周六上午在社区卫生站免费测量。", actor=bureau)
    db.session.flush()


def _demo_charity() -> None:
    """A township fund held by a registered organisation (demo_org administers it), with a
    pledge, receipts, a payment and goods; two micro-wishes on the wall."""
    from portal.charity import ledger, services, wishes
    from portal.orgs.models import OrgAdmin, Registration

    bureau = db.session.scalar(sa.select(User).where(User.username == "demo_bureau_zq"))
    worker = db.session.scalar(sa.select(User).where(User.username == "demo_worker"))
    host = db.session.scalar(sa.select(Org).join(OrgAdmin, OrgAdmin.org_id == Org.id).join(
        User, User.id == OrgAdmin.user_id).where(
        User.username == "demo_org", Org.status == OrgState.active,
        Org.registration == Registration.registered, Org.community_code.like("210802%"))
        .order_by(Org.id))
    if host is not None:
        fund = services.open_fund("八田地街道社区基金", "210802001", host.id,
                                  "帮扶辖区困难老人和儿童", actor=bureau)
        admin = db.session.scalar(sa.select(User).where(User.username == "demo_org"))
        pledge = services.pledge(fund, services.PledgeInput(
            donor_name="营口某商贸公司", donor_kind="company", kind="money",
            amount="5000.00"), actor=admin, offline=True)
        for data in (
                ledger.MovementInput(type="receipt", amount="3000.00", pledge_id=pledge.id),
                ledger.MovementInput(type="receipt", amount="200.00", donor_name="张秀英"),
                ledger.MovementInput(type="disbursement", amount="800.00",
                                     purpose="为3位独居老人购买助行器"),
                ledger.MovementInput(type="goods_in", donor_name="营口某超市",
                                     donor_kind="company", items=[
                                         {"name": "大米", "quantity": 20, "unit": "袋",
                                          "unit_value": "45.00"}])):
            ledger.record_movement(fund, data, actor=admin)
    for alias, title, value in (("王奶奶", "一台电暖器", "300.00"),
                                ("小宇", "一套课外读物", "120.00")):
        wishes.publish_wish(wishes.WishInput(
            community_code="210802001001", alias=alias, title=title, kind="goods",
            estimated_value=value, story="社区工作人员入户走访后发布。", name="（受助人）",
            phone="13904170004", address="八田地社区"), actor=worker)
    db.session.flush()


def _demo_service() -> None:
    """demo_volunteer's volunteer record and some service in past weeks (three approved, one
    waiting), so that /me shows hours, stars' progress and the certificate form."""
    from portal.records import services as records
    from portal.records.models import RecordState
    from portal.volunteers.idcards import make_resident_id
    from portal.volunteers.models import Volunteer
    from portal.volunteers.services import VolunteerInput, register_volunteer

    worker = db.session.scalar(sa.select(User).where(User.username == "demo_worker"))
    account = db.session.scalar(sa.select(User).where(User.username == "demo_volunteer"))
    volunteer = Volunteer.of_user(account)
    if volunteer is None:
        volunteer = register_volunteer(VolunteerInput(
            real_name="王秀兰", id_number=make_resident_id("210802", date(1956, 3, 8), 27),
            phone="13904170000", community_code="210802001001",
            skills=["first_aid", "cooking"], service_types=["elderly_care", "community_governance"],
            availability=["sat_morning", "sun_morning"]), actor=worker)
        volunteer.user_id = account.id
    activity = db.session.scalar(sa.select(Activity).order_by(Activity.id))
    today = datetime.now(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    # A year of Saturday mornings (past the first star at 100 hours), the last one waiting.
    history = [(weeks, 150, True) for weeks in range(46, 6, -1)]
    history += [(6, 120, True), (4, 150, True), (2, 110, True), (1, 90, False)]
    for weeks, minutes, approve in history:
        start = today - timedelta(weeks=weeks)
        service = records.add_record(volunteer, activity, records.RecordInput(
            started_at=start, ended_at=start + timedelta(hours=3), minutes=minutes,
            content="陪伴独居老人聊天、读报", beneficiaries="独居老人", leader="李主任"),
            actor=worker)
        if approve:
            records.decide(service, RecordState.approved, actor=worker)


def _demo_projects() -> None:
    """The year's catalogue, one 公益创投 call open for bids, and a reviewer in the pool."""
    from portal.projects import services as projects

    bureau = db.session.scalar(sa.select(User).where(User.username == "demo_bureau_zq"))
    city = db.session.scalar(sa.select(User).where(User.username == "demo_bureau"))
    reviewer = db.session.scalar(sa.select(User).where(User.username == "demo_reviewer"))
    deadline = (datetime.now(SHANGHAI) + timedelta(days=20)).replace(hour=17, minute=0,
                                                                     second=0, microsecond=0)
    for name, category, unit in (("居家养老上门服务", "养老服务", "人次"),
                                 ("社区儿童课后托管", "儿童关爱", "人·月"),
                                 ("社区矛盾纠纷调解", "社区治理", "件")):
        projects.add_catalogue_item("2108", deadline.year, name, category, unit, actor=city)
    projects.publish_catalogue("2108", deadline.year, actor=city)
    call = projects.create_project(projects.ProjectInput(
        title="站前区社区助老公益创投", kind="venture_philanthropy", area_code="210802",
        budget="50000.00", bid_deadline=deadline,
        criteria=[("服务方案", 40), ("团队能力", 30), ("预算合理性", 30)],
        description="面向独居和空巢老人，开展探访、助餐和陪伴服务。",
        service_targets="站前区独居、空巢老人", contract_months=12), actor=bureau)
    projects.publish(call, actor=bureau)
    projects.add_to_pool("210802", reviewer, actor=bureau, expertise="社会工作")


def _demo_incubations() -> None:
    """The incubation base with an organisation in each stage."""
    from portal.orgs.services import apply_incubation, move_incubation

    bureau = db.session.scalar(sa.select(User).where(User.username == "demo_bureau_zq"))
    city = db.session.scalar(sa.select(User).where(User.username == "demo_bureau"))
    plans = [
        ("八田地社区邻里互助会", ["admitted", "incubating", "graduated"]),
        ("八田地社区夕阳红合唱团", ["admitted", "incubating"]),
        ("胜利社区志愿服务队", ["admitted"]),
        ("熊岳村秧歌队", []),
        ("熊岳村老年协会", ["rejected"]),
    ]
    for name, moves in plans:
        org = db.session.scalar(sa.select(Org).where(Org.name == name))
        if org is None or org.status is not OrgState.active:
            continue
        admin = db.session.get(User, org.admins[0].user_id)
        incubation = apply_incubation(
            org, "建立骨干队伍，规范财务与活动记录，一年内能独立承接社区服务项目。", actor=admin)
        reviewer = bureau if org.community_code.startswith("210802") else city
        for stage in moves:
            move_incubation(incubation, stage, "按孵化计划推进" if stage != "rejected"
                            else "计划尚不具体，建议完善后再申请", actor=reviewer)


def _demo_review_call() -> None:
    """A 公益创投 call whose bidding has closed: two bids, demo_reviewer assigned to score."""
    from portal.core.errors import Conflict
    from portal.projects import services as projects

    bureau = db.session.scalar(sa.select(User).where(User.username == "demo_bureau_zq"))
    reviewer = db.session.scalar(sa.select(User).where(User.username == "demo_reviewer"))
    deadline = (datetime.now(SHANGHAI) + timedelta(days=2)).replace(microsecond=0)
    call = projects.create_project(projects.ProjectInput(
        title=REVIEW_CALL, kind="venture_philanthropy", area_code="210802",
        budget="60000.00", bid_deadline=deadline,
        criteria=[("服务方案", 40), ("团队能力", 30), ("预算合理性", 30)],
        description="为双职工家庭的小学生提供课后托管、作业辅导和安全教育。",
        service_targets="站前区小学生", contract_months=10, allow_filed=True), actor=bureau)
    projects.publish(call, actor=bureau)
    for org_name, amount, plan in (
            ("营口市站前区八田地助老服务中心", "52000.00", "依托活动室，每周一至五下午开放托管。"),
            ("胜利社区志愿服务队", "38000.00", "组织大学生志愿者辅导作业，社区工作者负责安全。")):
        org = db.session.scalar(sa.select(Org).where(Org.name == org_name))
        admin = db.session.get(User, org.admins[0].user_id)
        projects.submit_bid(call, org, amount=amount, proposal=plan, actor=admin)
    with contextlib.suppress(Conflict):  # in the pool already, since the first call
        projects.add_to_pool("210802", reviewer, actor=bureau, expertise="社会工作")
    projects.assign_reviewer(call, reviewer, actor=bureau)
    # Bidding closed two days early (as time would have it): the call is under review.
    call.bid_deadline = datetime.now(SHANGHAI) - timedelta(hours=1)
    db.session.flush()
    projects.sync_deadline(call)


def _demo_running_shift() -> None:
    """A meal-delivery shift running now, demo_volunteer signed up: check in and out today."""
    from portal.activities.services import ActivityInput, ShiftInput, create_activity, sign_up
    from portal.volunteers.models import Volunteer

    worker = db.session.scalar(sa.select(User).where(User.username == "demo_worker"))
    account = db.session.scalar(sa.select(User).where(User.username == "demo_volunteer"))
    volunteer = Volunteer.of_user(account)
    soon = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(second=0, microsecond=0)
    activity = create_activity(ActivityInput(
        title=RUNNING_NOW, community_code="210802001001", service_type="elderly_care",
        location="八田地社区老年餐桌", contact_name="李秀珍", contact_phone="0417-2826601",
        shifts=[ShiftInput(starts_at=soon, ends_at=soon + timedelta(hours=3), capacity=6)]),
        actor=worker)
    if volunteer is not None:
        sign_up(activity.shifts[0], volunteer, actor=account)
        db.session.flush()
    # Moved to now (a signup is only taken before a shift starts).
    now = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    shift = activity.shifts[0]
    shift.starts_at, shift.ends_at = now - timedelta(minutes=30), now + timedelta(hours=2)
    db.session.flush()


def _demo_activities() -> None:
    """Two activities with shifts in the coming weeks, published by the demo community worker."""
    from portal.activities.services import ActivityInput, ShiftInput, create_activity

    worker = db.session.scalar(sa.select(User).where(User.username == "demo_worker"))
    start = (datetime.now(SHANGHAI) + timedelta(days=3)).replace(hour=9, minute=0, second=0,
                                                                  microsecond=0)
    for title, service_type, skills, location, days in (
            ("陪伴独居老人聊天读报", "elderly_care", ["first_aid"], "八田地社区活动室", (0, 7, 14)),
            ("社区环境清洁日", "environment", [], "八田地社区广场", (5,))):
        create_activity(ActivityInput(
            title=title, community_code="210802001001", service_type=service_type,
            skills=skills, location=location,
            shifts=[ShiftInput(starts_at=start + timedelta(days=d),
                               ends_at=start + timedelta(days=d, hours=2), capacity=8)
                    for d in days]), actor=worker)


DEMO_ORGS = [
    # community, name, category, registration, status, admin, contact, phone
    ("210802001001", "八田地社区邻里互助会", "mutual_aid", "filed", "active", "demo_org",
     "刘桂芳", "13942711021"),
    ("210802001001", "八田地社区夕阳红合唱团", "culture_sports", "filed", "active", "demo_org",
     "孙玉梅", "13904172216"),
    ("210802001001", "营口市站前区八田地助老服务中心", "life_service", "registered", "active",
     "demo_org", "张建国", "0417-2826618"),
    ("210802001002", "胜利社区志愿服务队", "charity", "filed", "active", "demo_org",
     "赵丽娟", "13841778302"),
    ("210802002001", "建丰社区调解会", "community_affairs", "filed", "pending", "demo_org",
     "王德胜", "13700176543"),
    ("210804100201", "熊岳村果树技术协会", "rural_tech", "filed", "active", "demo_org_xy",
     "李长海", "13504173381"),
    ("210804100201", "熊岳村秧歌队", "culture_sports", "filed", "active", "demo_org_xy",
     "高淑琴", "15841733126"),
    ("210804100201", "熊岳村老年协会", "mutual_aid", "filed", "active", "demo_org_xy",
     "周福才", "13898061145"),
    ("210804100202", "古城村红白理事会", "community_affairs", "filed", "active", "demo_org_xy",
     "陈永利", "13610457722"),
]
WORKER_NAMES = ["李秀珍", "王海燕", "张丽", "刘洋", "陈静", "杨帆"]
REVIEW_CALL = "站前区儿童课后托管公益创投"
RUNNING_NOW = "八田地社区助餐点配餐"


def _demo_orgs() -> None:
    """A few organisations and workers, so that the dashboard has something to show."""
    for index, (community, name, category, registration, status, admin, contact,
                phone) in enumerate(DEMO_ORGS):
        founder = db.session.scalar(sa.select(User).where(User.username == admin))
        org = Org(name=name, category=OrgCategory(category),
                  registration=Registration(registration), community_code=community,
                  contact_name=contact, contact_phone=phone, status=OrgState(status),
                  description=f"{contact}牵头，服务本社区居民。",
                  uscc=uscc.make("52210802", f"MJ{index:06d}") if registration == "registered"
                  else None,
                  legal_type=LegalType.private_non_enterprise if registration == "registered"
                  else None)
        org.admins.append(OrgAdmin(user_id=founder.id))
        # ... and an admin of its own, as an organisation has (demo_org1 … demo_org9).
        own = db.session.scalar(sa.select(User).where(User.username == f"demo_org{index + 1}"))
        if own is None:
            own = create_user(f"demo_org{index + 1}", demo_password(), [Grant(Role.org_admin)],
                              actor=None)
            own.display_name = contact
        org.admins.append(OrgAdmin(user_id=own.id))
        db.session.add(org)
    for index in range(6):
        db.session.add(Worker(name=WORKER_NAMES[index], kind=WorkerKind.community_worker,
                              certificate=Certificate.assistant if index < 2 else
                              Certificate.none, employer_community_code="210802001001",
                              area_code="210802001001"))
    db.session.flush()
