import pytest

from portal.core.areas import AreaData, create_area
from portal.extensions import db
from portal.orgs import uscc as uscc_rules

URBAN = "210802001001"   # 八田地社区, 站前区
RURAL = "210804100201"   # 熊岳村, 鲅鱼圈区


def valid_uscc(n: int, kind: str = "52") -> str:
    return uscc_rules.make(f"{kind}210800", f"MJ{n:06d}")


@pytest.fixture
def people(yingkou, make_user):
    make_user("admin", "admin")
    make_user("city", ("bureau", "2108"))
    make_user("zhanqian", ("bureau", "210802"))
    make_user("bayuquan", ("bureau", "210804"))
    make_user("worker", ("community_worker", URBAN))
    make_user("founder")
    make_user("other")


def org_body(**overrides) -> dict:
    body = {"name": "八田地互助会", "category": "mutual_aid", "registration": "filed",
            "community_code": URBAN, "contact_name": "王阿姨", "contact_phone": "13800138000",
            "founded_on": "2021-05-01"}
    body.update(overrides)
    return body


@pytest.fixture
def new_org(client, token):
    """new_org(by='founder', **fields) -> the created org's JSON."""
    def create(by="founder", **fields):
        response = client.post("/api/v1/orgs", headers=token(by), json=org_body(**fields))
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return create


@pytest.fixture
def active_org(client, token, new_org):
    def create(by="founder", reviewer="zhanqian", **fields):
        org = new_org(by=by, **fields)
        response = client.post(f"/api/v1/orgs/{org['id']}/review", headers=token(reviewer),
                               json={"decision": "approve", "comment": "ok"})
        assert response.status_code == 200, response.get_json()
        return response.get_json()
    return create


@pytest.fixture
def add_community(app):
    def add(code: str, name: str = "测试社区", population: int = 5000):
        with app.app_context():
            create_area(AreaData(code=code, name=name, population=population), actor=None)
            db.session.commit()
    return add
