"""Fill gettext catalogues from a small translation file, then compile.

    .venv/bin/python scripts/translate.py TRANSLATIONS.json [--catalogue-dir DIR ...]

TRANSLATIONS.json maps each English msgid to {"kk": "...", "ru": "..."} (for plurals, a list
of forms per language). Every catalogue under the given dirs (default: the repository's
locale/ and every <app>/locale/) gets the entries it has, with the fuzzy flag cleared (makemessages
fuzzy-matches new strings to old ones; a fuzzy guess is never kept) and the header's
Language and Plural-Forms set. Prints what is still untranslated or fuzzy and exits 1 if any.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PLURAL_FORMS = {"kk": "nplurals=2; plural=(n!=1);", "ru": (
    "nplurals=4; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<12 || n%100>=14) ? 1 : "
    "n%10==0 || (n%10>=5 && n%10<=9) || (n%100>=11 && n%100<=14)? 2 : 3);")}


def catalogues(dirs: list[Path]):
    for base in dirs:
        for language in PLURAL_FORMS:
            path = base / language / "LC_MESSAGES" / "django.po"
            if path.exists():
                yield language, path


def default_dirs() -> list[Path]:
    found = [ROOT / "locale"]
    found += sorted(p for p in ROOT.glob("*/locale") if p.parent.name not in {".venv", "var"})
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("translations", nargs="?", type=Path)
    parser.add_argument("--catalogue-dir", action="append", type=Path, dest="dirs")
    args = parser.parse_args()
    table = json.loads(args.translations.read_text(encoding="utf-8")) if args.translations else {}
    missing = 0
    for language, path in catalogues(args.dirs or default_dirs()):
        po = polib.pofile(str(path), wrapwidth=0)
        po.metadata["Language"] = language
        po.metadata["Plural-Forms"] = PLURAL_FORMS[language]
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
        for entry in po:
            if entry.obsolete:
                continue
            given = table.get(entry.msgid, {}).get(language)
            if given is not None:
                if entry.msgid_plural:
                    forms = given if isinstance(given, list) else [given]
                    count = int(PLURAL_FORMS[language].split("nplurals=")[1].split(";")[0])
                    entry.msgstr_plural = {i: forms[min(i, len(forms) - 1)] for i in range(count)}
                else:
                    entry.msgstr = given
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
                entry.previous_msgid = None
        # The header is fuzzy in a catalogue makemessages just created.
        po.metadata_is_fuzzy = []
        po.save()
        for entry in po:
            if entry.obsolete:
                continue
            if "fuzzy" in entry.flags or not entry.translated():
                missing += 1
                print(f"{path.relative_to(ROOT)}: {'fuzzy' if 'fuzzy' in entry.flags else 'untranslated'}: "
                      f"{entry.msgid!r}")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "compilemessages", "--ignore=.venv", "--ignore=var"],
                   cwd=ROOT, check=True, capture_output=True)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
