"""Rating from /me: what one may rate is listed; the form with five large choices; a 差评
needs a comment (said by the field, what was chosen kept); the rated service leaves the list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.ratings.models import Rating
from tests.conftest import form_post


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_volunteer_rates_from_me(app, client, login, served, lang):
    activity_id = served("wang")
    login("wang")
    me = client.get(f"/me?lang={lang}").get_data(as_text=True)
    url = f"/rate/activity/{activity_id}"
    assert 'id="to-rate"' in me and url in me
    page = client.get(url)
    assert page.status_code == 200 and 'id="rating-form"' in page.get_data(as_text=True)
    refused = form_post(client, url, {"level": "2", "comment": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="comment-err"' in html
    import re

    assert re.search(r'<input checked[^>]*value="2"', html)  # the choice is kept
    done = form_post(client, url, {"level": "2", "comment": "开始晚了一小时", "quality": "3"})
    assert done.status_code == 302
    with app.app_context():
        rating = db.session.scalar(sa.select(Rating))
        assert (rating.level, rating.quality, rating.comment) == (2, 3, "开始晚了一小时")
    assert url not in client.get("/me").get_data(as_text=True)
    again = form_post(client, url, {"level": "5"})
    assert again.status_code == 302  # rated already: back to /me, saying so


def test_only_who_took_part_sees_the_form(client, login, served, volunteer):
    activity_id = served("wang")
    volunteer("lisi")
    login("lisi")
    assert client.get(f"/rate/activity/{activity_id}").status_code == 403
    assert client.get("/rate/activity/999999").status_code == 404
    assert client.get("/rate/shift/1").status_code == 404
