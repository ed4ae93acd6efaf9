"""The bureau's 好差评 dashboard: an area's months as a chart, each area one level down with its
ratings and cases, and the same in Excel; for the bureau of the area only."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.ratings.conftest import BAD, rate


def test_the_bureau_sees_the_areas_ratings_and_gets_excel(app, client, token, login, served):
    activity_id = served("wang")
    rate(client, token, "wang", **BAD, object_id=activity_id)
    served("zhaoliu")
    rate(client, token, "zhaoliu", object_type="activity", object_id=activity_id, level=5)
    login("zhanqian")
    page = client.get("/ratings/dashboard?area=210802")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="area-ratings"' in html
    row = html.split('id="rating-children"')[1].split("八田地街道")[1].split("</tr>")[0]
    assert ">2<" in row and "3.50" in row and "50.0%" in row  # 2 ratings, mean 3.5, 1 good
    assert client.get("/ratings/dashboard?area=210802&lang=en").status_code == 200
    book = load_workbook(io.BytesIO(client.get(
        "/ratings/dashboard/export.xlsx?area=210802").data))
    rows = list(book["按地区"].iter_rows(values_only=True))
    bating = [r for r in rows if r[1] == "八田地街道"][0]
    assert bating[2:6] == (2, 3.5, 0.5, 1)
    assert sum(r[1] for r in list(book["按月"].iter_rows(values_only=True))[2:]) == 2
    indicators = client.get("/dashboard?area=210802").get_data(as_text=True)  # organisations
    row = indicators.split('id="children"')[1].split("八田地街道")[1].split("</tr>")[0]
    assert "3.50 · 2" in row and "50.0%" in row  # ... dashboard gains the ratings columns
    assert client.get("/ratings/dashboard?area=210804").status_code == 403  # another county
    login("worker")
    assert client.get("/ratings/dashboard?area=210802").status_code == 403
