"""Add Chinese translations from a JSON file {msgid: msgstr}: `python tools/i18n_translate.py F`."""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PATH = (Path(__file__).resolve().parent.parent / "portal" / "translations" / "zh_Hans_CN"
        / "LC_MESSAGES" / "messages.po")


def main(source: str) -> None:
    pairs = json.loads(Path(source).read_text(encoding="utf-8"))
    with PATH.open("rb") as f:
        catalog = read_po(f, locale="zh_Hans_CN")
    for msgid, msgstr in pairs.items():
        message = catalog.get(msgid)
        if message is None:
            print("not in catalogue:", msgid)
            continue
        # A plural message: Chinese has one form (Plural-Forms: nplurals=1).
        message.string = (msgstr,) if message.pluralizable else msgstr
        message.flags.discard("fuzzy")
    with PATH.open("wb") as f:
        write_po(f, catalog, width=0, no_location=True, sort_output=True)


if __name__ == "__main__":
    main(sys.argv[1])
