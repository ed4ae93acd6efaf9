"""Keep the catalogues in step with the code: `make extract` runs this after pybabel update.

English strings are the msgids, so the English catalogue's msgstr is the msgid itself: this fills
any empty one. Chinese needs a translator; the test suite fails while any is missing.
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "portal" / "translations"


def main() -> None:
    path = ROOT / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale="en")
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as f:
        write_po(f, catalog, omit_header=False, width=0, no_location=True, sort_output=True)
    missing = []
    zh = ROOT / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    with zh.open("rb") as f:
        for message in read_po(f, locale="zh_Hans_CN"):
            if message.id and (not message.string or "fuzzy" in message.flags):
                missing.append(message.id)
    for msgid in missing:
        print("zh_Hans_CN missing:", msgid)


if __name__ == "__main__":
    main()
