"""The needs dashboard in Excel: the figures of the area and of each area below it, and the
stale needs (no personal data: titles, places, kinds, dates, supporters)."""

from __future__ import annotations

from flask_babel import force_locale

from portal.core.excel import add_sheet, caption, new_book, saved
from portal.needs import queries
from portal.needs.models import NeedState
from portal.volunteers.catalogues import SERVICE_TYPES


def _row(name: str, code: str, f: queries.NeedFigures) -> list:
    share = f.matched_within_30_days_share
    return [name, code, f.total, *[f.by_status[s.value] for s in NeedState], f.stale,
            f.median_days_to_match if f.median_days_to_match is not None else "",
            round(share * 100, 1) if share is not None else ""]


def needs_workbook(area):
    with force_locale("zh_Hans_CN"):  # staff's sheets are in Chinese
        figures = queries.figures(area.code)
        headers = ["区域", "代码", "需求总数", *[str(s.title) for s in NeedState],
                   "超期未对接", "核实到对接中位天数", "30天内对接率(%)"]
        rows = [_row(area.name, area.code, figures)] + [
            _row(a.name, a.code, f) for a, f in queries.figures_by_child(area.code)]
        book = new_book()
        add_sheet(book, "概况", headers, rows, title=caption("需求清单统计", area.name))
        add_sheet(book, "按类别", ["类别", "需求数"],
                  [[str(SERVICE_TYPES.get(k, k)), n] for k, n in figures.by_category.items()],
                  title=caption("需求清单按类别", area.name))
        children = queries.figures_by_child(area.code)
        kinds = list(SERVICE_TYPES)
        add_sheet(book, "按区域和类别", ["区域", "代码", *[str(SERVICE_TYPES[k]) for k in kinds]],
                  [[a.name, a.code, *[f.by_category.get(k, 0) for k in kinds]]
                   for a, f in children], title=caption("各区域需求按类别", area.name))
        add_sheet(book, "超期需求", ["编号", "社区", "类别", "标题", "核实日期", "附议人数"],
                  [[n.id, n.community.name if n.community else n.community_code,
                    str(SERVICE_TYPES.get(n.category, n.category)), n.title,
                    n.verified_at.date().isoformat() if n.verified_at else "", n.supporters]
                   for n in queries.stale_needs(area.code, limit=5000)],
                  title=caption("核实后超期未对接的需求", area.name))
        return saved(book)
