"""The dashboard's Excel workbook (Chinese headers, as staff expect) and its bar chart."""

from __future__ import annotations

import io

from portal.core.excel import add_sheet as _sheet
from portal.core.excel import caption, new_book, saved
from portal.orgs.queries import Coverage

KIND_ZH = {"urban": "城市社区", "rural": "农村社区"}


def coverage_workbook(c: Coverage, area_name: str) -> io.BytesIO:
    book = new_book()
    title = caption("社区社会组织覆盖与专栏1指标", area_name)
    summary = [
        ["全部", c.total.communities, c.total.meeting_target, c.total.share,
         c.total.average],
        ["城市社区", c.urban.communities, c.urban.meeting_target, c.urban.share,
         c.urban.average],
        ["农村社区", c.rural.communities, c.rural.meeting_target, c.rural.share,
         c.rural.average],
    ]
    _sheet(book, "概况", ["类别", "社区数", "达标社区数", "达标比例(%)", "平均每社区组织数"],
           summary, title=title)
    if c.children:
        _sheet(book, "下级区划", ["代码", "名称", "社区数", "达标社区数", "达标比例(%)",
                              "活跃社会组织数", "平均每社区组织数"],
               [[a.code, a.name, t.communities, t.meeting_target, t.share, t.active_orgs,
                 t.average] for a, t in c.children])
    _sheet(book, "各社区", ["社区代码", "社区名称", "类型", "活跃社区社会组织数", "目标",
                         "是否达标"],
           [[r.code, r.name, KIND_ZH[r.kind], r.active_orgs, r.target,
             "是" if r.meets_target else "否"] for r in c.rows])
    _sheet(book, "未达标社区", ["社区代码", "社区名称", "类型", "活跃社区社会组织数", "目标",
                            "尚缺"],
           [[r.code, r.name, KIND_ZH[r.kind], r.active_orgs, r.target, r.lacking]
            for r in c.short])
    w = c.workers
    _sheet(book, "队伍指标", ["指标", "数值", "目标"], [
        ["每万城镇常住人口拥有社区工作者(人)", w["community_workers_per_10k_urban"],
         w["community_workers_per_10k_urban_target"]],
        ["城市社区工作者持证比例(%)", w["certified_share_urban"],
         w["certified_share_urban_target"]],
        ["注册志愿者占常住人口比例(每百人)", w["volunteers_per_100_residents"], None],
        ["城市社区工作者(人)", w["urban_community_workers"], None],
        ["常住人口", w["residents"], None],
        ["城镇常住人口", w["urban_residents"], None],
    ])
    return saved(book)


def bar_chart(c: Coverage) -> dict | None:
    """Stacked bars, one per child area: communities meeting the target and short of it.

    Drawn as inline SVG by the template: no script, no CDN, readable without colour (each bar
    carries its numbers).
    """
    if not c.children:
        return None
    widest = max((t.communities for _a, t in c.children), default=0) or 1
    bars = []
    for index, (area, tally) in enumerate(c.children):
        short = tally.communities - tally.meeting_target
        bars.append({"code": area.code, "name": area.name, "y": 10 + index * 34,
                     "meeting": tally.meeting_target, "short": short,
                     "meeting_w": round(360 * tally.meeting_target / widest, 1),
                     "short_w": round(360 * short / widest, 1)})
    return {"bars": bars, "height": 20 + len(bars) * 34}
