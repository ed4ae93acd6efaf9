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
        empty = not all(message.string) if isinstance(message.string, tuple) \
            else not message.string
        if message.id and empty:
            message.string = message.id  # a plural's (singular, plural) are its two forms
        message.flags.discard("fuzzy")
    with path.open("wb") as f:
        write_po(f, catalog, omit_header=False, width=0, no_location=True, sort_output=True)
    missing = []
    zh = ROOT / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    with zh.open("rb") as f:
        for message in read_po(f, locale="zh_Hans_CN"):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id and (not all(strings) or "fuzzy" in message.flags):
                missing.append(message.id if isinstance(message.id, str) else message.id[0])
    for msgid in missing:
        print("zh_Hans_CN missing:", msgid)


if __name__ == "__main__":
    main()
