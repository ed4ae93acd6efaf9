"""Both catalogues are complete, and the locale is chosen as promised."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = {"zh_Hans_CN": ROOT / "portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po",
              "en": ROOT / "portal/translations/en/LC_MESSAGES/messages.po"}


def strings_in_code() -> set[str]:
    method_map = [("portal/**.py", "python"), ("portal/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None,
                "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", sorted(CATALOGUES))
def test_catalogue_translates_every_string(locale):
    with CATALOGUES[locale].open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(s for s in strings_in_code()
                     if s not in translated or not translated[s].string
                     or "fuzzy" in translated[s].flags)
    assert not missing, f"{locale} misses {len(missing)}: {missing[:20]}"
    for msgid, message in translated.items():
        string = message.string if isinstance(message.string, str) else message.string[0]
        names = set(re.findall(r"\{(\w+)", msgid))
        assert names == set(re.findall(r"\{(\w+)", string)), f"{locale}: {msgid!r}"


def test_chinese_catalogue_is_chinese():
    with CATALOGUES["zh_Hans_CN"].open("rb") as f:
        catalog = read_po(f)
    han = [m for m in catalog if m.id and re.search(r"[\u4e00-\u9fff]", str(m.string))]
    assert len(han) >= 0.9 * len([m for m in catalog if m.id])


def test_chinese_is_the_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert "登录" in html


def test_lang_parameter_wins(client):
    html = client.get("/login?lang=en", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    assert '<html lang="en">' in html and "Sign in" in html


def test_accept_language_is_honoured(client):
    html = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True)
    assert '<html lang="en">' in html


def test_the_users_choice_is_remembered(client, yingkou, make_user, login):
    make_user("amy", "reviewer")
    login("amy")
    client.get("/?lang=en")
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    client.get("/?lang=zh")
    assert '<html lang="zh-Hans">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("lang,word", [("zh", "页面不存在"), ("en", "Page not found")])
def test_error_pages_in_both_languages(client, lang, word):
    response = client.get(f"/no-such-page?lang={lang}")
    assert response.status_code == 404
    assert word in response.get_data(as_text=True)
