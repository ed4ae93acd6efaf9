"""行政区划: city → county → township → community, keyed by the national statistical code.

A code extends its parent's code, so "everything under an area" is a range of codes: one indexed
range scan, no recursive query.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import str_enum
from portal.core.errors import Conflict, ValidationFailed
from portal.extensions import db


class AreaLevel(enum.StrEnum):
    city = "city"
    county = "county"
    township = "township"
    community = "community"

    @property
    def title(self) -> str:
        return str(LEVEL_TITLES[self])


class AreaKind(enum.StrEnum):
    urban = "urban"
    rural = "rural"

    @property
    def title(self) -> str:
        return str(KIND_TITLES[self])


LEVEL_TITLES = {
    AreaLevel.city: _l("City"),
    AreaLevel.county: _l("County / district"),
    AreaLevel.township: _l("Township / sub-district"),
    AreaLevel.community: _l("Community / village"),
}
KIND_TITLES = {AreaKind.urban: _l("Urban (residents' committee)"),
               AreaKind.rural: _l("Rural (villagers' committee)")}

# Length of the code at each level, and the level above it.
CODE_LENGTH = {AreaLevel.city: 4, AreaLevel.county: 6, AreaLevel.township: 9,
               AreaLevel.community: 12}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTH.items()}
PARENT_LEVEL = {AreaLevel.county: AreaLevel.city, AreaLevel.township: AreaLevel.county,
                AreaLevel.community: AreaLevel.township}
CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items()}


class Area(db.Model):
    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel, 16), index=True)
    kind: Mapped[AreaKind | None] = mapped_column(str_enum(AreaKind, 8))
    # The city's parent (the province, "21") is not kept, so this is checked by the service
    # rather than by a foreign key.
    parent_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    households: Mapped[int | None] = mapped_column(sa.Integer)

    def covers(self, code: str) -> bool:
        return covers(self.code, code)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level.value,
            "kind": self.kind.value if self.kind else None,
            "parent_code": self.parent_code,
            "population": self.population,
            "households": self.households,
        }

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.name}>"


def covers(scope_code: str, code: str) -> bool:
    """An area scope covers itself and everything under it."""
    return code.startswith(scope_code)


def code_bounds(scope_code: str) -> tuple[str, str] | None:
    """The lowest and highest code at or under scope_code; None for a code that is no code."""
    if not (scope_code and scope_code.isascii() and scope_code.isdigit()):
        return None
    return scope_code, scope_code + "9" * (12 - len(scope_code))


def under(column, scope_code: str):
    """SQL condition: column holds a code at or under scope_code.

    A range, not LIKE: codes are digit strings of at most 12 characters, so everything under P
    lies between P and P followed by nines. A range uses the index on SQLite and on PostgreSQL
    whatever the collation (LIKE 'P%' does neither), and no % or _ in the input can widen it.
    """
    bounds = code_bounds(scope_code)
    if bounds is None:
        return sa.false()
    return sa.and_(column >= bounds[0], column <= bounds[1])


def ancestors(code: str) -> set[str]:
    """The codes of the areas above `code` (its county, city, ...)."""
    return {code[:n] for n in CODE_LENGTH.values() if n < len(code)}


def in_line(column, code: str):
    """SQL condition: column holds `code`, an area under it, or an area above it (one line of
    the area tree: a township's project and its communities' workers, say)."""
    return sa.or_(under(column, code), column.in_(ancestors(code)))


def community_kind(code: str) -> AreaKind | None:
    """居委会 001–199 are urban, 村委会 200–399 rural; any other suffix is no community."""
    suffix = int(code[-3:])
    if 1 <= suffix <= 199:
        return AreaKind.urban
    if 200 <= suffix <= 399:
        return AreaKind.rural
    return None


def level_of(code: str) -> AreaLevel | None:
    return LEVEL_BY_LENGTH.get(len(code)) if re.fullmatch(r"[0-9]+", code) else None


@dataclass
class AreaData:
    code: str
    name: str
    parent_code: str | None = None
    level: AreaLevel | None = None
    population: int | None = None
    households: int | None = None


def check_area(data: AreaData, parent: Area | None) -> tuple[AreaLevel, AreaKind | None]:
    """Every rule for a new or imported area, in one place. Raises ValidationFailed."""
    errors: dict[str, list[str]] = {}
    code = (data.code or "").strip()
    level = level_of(code)
    if level is None:
        errors.setdefault("code", []).append(
            _("An area code has 4, 6, 9 or 12 digits (city, county, township, community)."))
    elif data.level is not None and data.level != level:
        errors.setdefault("level", []).append(
            _("A code of {n} digits is a {level}.").format(n=len(code), level=level.title))
    kind = None
    if level is AreaLevel.community:
        kind = community_kind(code)
        if kind is None:
            errors.setdefault("code", []).append(
                _("A community code ends in 001–199 (urban) or 200–399 (rural)."))
    if not (data.name or "").strip():
        errors.setdefault("name", []).append(_("This field is required."))
    elif len(data.name.strip()) > 100:
        errors.setdefault("name", []).append(_("At most {n} characters.").format(n=100))
    elif any(ord(c) < 32 for c in data.name):
        errors.setdefault("name", []).append(_("A name is one line of text."))
    for field in ("population", "households"):
        value = getattr(data, field)
        if value is not None and value < 0:
            errors.setdefault(field, []).append(_("Must not be negative."))
    if level is not None and level is not AreaLevel.city and "code" not in errors:
        expected = PARENT_LEVEL[level]
        parent_code = data.parent_code or code[: CODE_LENGTH[expected]]
        if parent is None:
            errors.setdefault("parent_code", []).append(
                _("The parent area {code} does not exist.").format(code=parent_code))
        elif parent.level is not expected or not code.startswith(parent.code):
            errors.setdefault("parent_code", []).append(
                _("The parent must be the {level} whose code {code} extends.").format(
                    level=expected.title, code=code[: CODE_LENGTH[expected]]))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return level, kind


def create_area(data: AreaData, *, actor) -> Area:
    from portal.core.audit import record

    code = (data.code or "").strip()
    parent = db.session.get(Area, data.parent_code) if data.parent_code else None
    if parent is None and level_of(code) not in (None, AreaLevel.city):
        parent = db.session.get(Area, code[: CODE_LENGTH[PARENT_LEVEL[level_of(code)]]])
    level, kind = check_area(data, parent)
    if db.session.get(Area, code) is not None:
        raise Conflict(_("An area with code {code} already exists.").format(code=code),
                       {"code": [_("This code is taken.")]})
    area = Area(code=code, name=data.name.strip(), level=level, kind=kind,
                parent_code=parent.code if parent else (data.parent_code or code[:2]),
                population=data.population, households=data.households)
    try:
        with db.session.begin_nested():
            db.session.add(area)
            db.session.flush()
    except sa.exc.IntegrityError:  # the same code at the same moment: the primary key decided
        raise Conflict(_("An area with code {code} already exists.").format(code=code),
                       {"code": [_("This code is taken.")]}) from None
    record(actor, "area", code, "create", to=area.name, area_code=code)
    return area


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors
        self.lines = sorted({_line_number(e) for e in errors})


IMPORT_COLUMNS = ("code", "name", "level", "parent_code")


def import_areas(text: str, *, actor=None) -> ImportResult:
    """Import `code,name,level,parent_code[,population,households]` rows.

    Idempotent: a known code is updated, never duplicated. All rows are checked before any is
    written; one bad row and nothing is imported (ImportFailed lists "line N: ...").
    """
    from portal.core.audit import record

    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed([_("line 1: missing columns: {cols}").format(cols=", ".join(missing))])
    rows: list[tuple[int, AreaData]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num  # the physical line where the row ends (quoted fields may span)
        try:
            level = AreaLevel((row.get("level") or "").strip())
        except ValueError:
            errors.append(_("line {n}: unknown level {level!r}").format(
                n=line, level=row.get("level")))
            continue
        try:
            population = _optional_int(row.get("population"))
            households = _optional_int(row.get("households"))
        except ValueError:
            errors.append(_("line {n}: population and households are whole numbers").format(
                n=line))
            continue
        code = (row.get("code") or "").strip()
        if code in seen:
            errors.append(_("line {n}: code {code} repeats line {m}").format(
                n=line, code=code, m=seen[code]))
            continue
        seen[code] = line
        rows.append((line, AreaData(code=code, name=(row.get("name") or "").strip(),
                                    parent_code=(row.get("parent_code") or "").strip() or None,
                                    level=level, population=population, households=households)))
    # Parents first, whatever the file's order.
    rows.sort(key=lambda item: CODE_LENGTH[item[1].level])
    by_code = {data.code: data for _line, data in rows}
    existing = {a.code: a for a in db.session.scalars(
        sa.select(Area).where(Area.code.in_(list(by_code))))} if by_code else {}
    parents = dict(existing)
    parent_codes = {d.parent_code for d in by_code.values() if d.parent_code}
    for area in db.session.scalars(sa.select(Area).where(Area.code.in_(list(parent_codes)))):
        parents[area.code] = area
    planned: list[tuple[AreaData, AreaLevel, AreaKind | None]] = []
    for line, data in rows:
        parent = parents.get(data.parent_code) if data.parent_code else None
        if parent is None and data.parent_code in by_code and data.parent_code not in existing:
            pending = by_code[data.parent_code]
            parent = Area(code=pending.code, level=pending.level)  # checked on its own line
        if data.level is AreaLevel.city:
            parent = None
        try:
            level, kind = check_area(data, parent)
        except ValidationFailed as exc:
            for field, messages in exc.fields.items():
                for message in messages:
                    errors.append(_("line {n}: {field}: {message}").format(
                        n=line, field=field, message=message))
            continue
        parents.setdefault(data.code, Area(code=data.code, level=level))
        planned.append((data, level, kind))
    if errors:
        raise ImportFailed(sorted(errors, key=_line_number))
    result = ImportResult()
    for data, level, kind in planned:
        area = existing.get(data.code)
        values = {"name": data.name, "level": level, "kind": kind, "parent_code": data.parent_code}
        if data.population is not None:
            values["population"] = data.population
        if data.households is not None:
            values["households"] = data.households
        if area is None:
            db.session.add(Area(code=data.code, **values))
            record(actor, "area", data.code, "import", to=data.name, area_code=data.code)
            result.created += 1
        elif any(getattr(area, k) != v for k, v in values.items()):
            before = area.name
            for key, value in values.items():
                setattr(area, key, value)
            record(actor, "area", data.code, "update", from_=before, to=data.name,
                   area_code=data.code)
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


def _line_number(message: str) -> int:
    match = re.search(r"(\d+)", message)
    return int(match.group(1)) if match else 0


def _optional_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value else None


def children(code: str | None, level: AreaLevel | None = None):
    """Areas directly under `code` (or the cities when None), ordered by code."""
    query = sa.select(Area).order_by(Area.code)
    if code is not None:
        query = query.where(Area.parent_code == code)
    if level is not None:
        query = query.where(Area.level == level)
    if code is None and level is None:
        query = query.where(Area.level == AreaLevel.city)
    return query


def communities(scopes: list[str] | None = None) -> list[Area]:
    """Communities (for a choice on a page), all or those under the given areas."""
    query = sa.select(Area).where(Area.level == AreaLevel.community).order_by(Area.code)
    if scopes:
        query = query.where(sa.or_(*[under(Area.code, s) for s in scopes]))
    return db.session.scalars(query).all()


def community_choices(areas: list[Area], first: tuple[str, str] | None = None) -> dict:
    """Communities for a select, by name: grouped under "county · township" (an <optgroup>
    each), never a code to read. One query for the parents. `first`: a choice above the
    groups (say ("", "—"))."""
    parents = {a.parent_code for a in areas if a.parent_code}
    names = dict(db.session.execute(sa.select(Area.code, Area.name).where(
        Area.code.in_(parents | {p[:6] for p in parents}))).all()) if parents else {}
    groups: dict[str, list[tuple[str, str]]] = {}
    if first is not None:
        groups[""] = [first]
    for area in areas:
        township = area.parent_code or ""
        label = " · ".join(n for n in (names.get(township[:6]), names.get(township)) if n)
        groups.setdefault(label or "—", []).append((area.code, area.name))
    return groups


def place_choices(areas: list[Area]) -> list[tuple[str, str]]:
    """Areas of different levels (a city, counties, townships) for a select, by name, each under
    its parent's: 营口市 / 站前区 / 站前区 · 八田地街道."""
    names = {a.code: a.name for a in areas}
    missing = {a.parent_code for a in areas if a.parent_code and a.parent_code not in names}
    if missing:
        names.update(dict(db.session.execute(
            sa.select(Area.code, Area.name).where(Area.code.in_(missing))).all()))
    labelled = []
    for area in areas:
        parent = names.get(area.parent_code or "") if area.level in (
            AreaLevel.township, AreaLevel.community) else None
        labelled.append((area.code, f"{parent} · {area.name}" if parent else area.name))
    return labelled
