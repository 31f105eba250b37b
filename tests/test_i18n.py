"""Kazakh and Russian are complete: every message of the code and templates is in
locale/{kk,ru}/LC_MESSAGES/django.po, translated, not fuzzy, with the same placeholders, and
the compiled .mo says the same as the .po.

A string added to the code without a translation fails here: `test_catalogues_cover_the_code`
runs makemessages (the command in the README of locale work) over a copy of the sources and
finds the new msgid untranslated.
"""

import gettext
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("kk", "ru")
# Kazakh letters that Russian does not have; a Kazakh catalogue without any is not Kazakh.
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdrf]|%[sdrf]|\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


def _unquote(text: str) -> str:
    return bytes(text, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for catalogues that makemessages writes."""
    entries, entry, current = [], Entry(), None

    def flush():
        nonlocal entry
        if entry.msgid or entry.msgstr or entry.msgctxt is not None:
            entries.append(entry)
        entry = Entry()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            current = None
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$', line)
        if match:
            key, index, value = match.group(1), match.group(2), _unquote(match.group(3))
            if key == "msgid":
                entry.line = number
            current = (key.split("[")[0], int(index) if index is not None else 0)
        elif line.startswith('"') and current is not None:
            value = _unquote(line[1:-1])
        else:
            raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
        kind, index = current
        if kind == "msgid":
            entry.msgid += value
        elif kind == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + value
        elif kind == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + value
        else:
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
    flush()
    return entries


def catalogue(language: str, root: Path = ROOT) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / "django.po"


def app_catalogues(language: str, root: Path = ROOT) -> list[Path]:
    """Apps added after the foundation keep their messages in <app>/locale (makemessages
    writes each file's strings to the nearest locale folder), so parallel work on two apps
    never edits one catalogue."""
    return sorted(p for p in root.glob(f"*/locale/{language}/LC_MESSAGES/django.po")
                  if p.parts[len(root.parts)] not in {".venv", "var"})


def all_catalogues(language: str, root: Path = ROOT) -> list[Path]:
    return [catalogue(language, root), *app_catalogues(language, root)]


def problems_of(entries: list[Entry], language: str) -> list[str]:
    found = []
    header = next((e for e in entries if e.msgid == "" and e.msgctxt is None), None)
    if header is None:
        found.append("no header")
    elif "fuzzy" in header.flags:
        found.append("the header is fuzzy")
    for e in entries:
        if e.obsolete or (e.msgid == "" and e.msgctxt is None):
            continue
        where = f"line {e.line} {e.msgid!r}"
        if "fuzzy" in e.flags:
            found.append(f"fuzzy: {where}")
        if not e.msgstr or any(not s.strip() for s in e.msgstr.values()):
            found.append(f"untranslated: {where}")
            continue
        wanted = sorted(PLACEHOLDER.findall(e.msgid))
        for s in e.msgstr.values():
            if sorted(PLACEHOLDER.findall(s)) != wanted:
                found.append(f"placeholders differ: {where} → {s!r}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    entries = parse_po(catalogue(language))
    assert len(entries) > 100
    assert problems_of(entries, language) == []
    assert app_catalogues(language), "no app catalogue found"
    for path in app_catalogues(language):
        assert problems_of(parse_po(path), language) == [], path


def test_kazakh_is_kazakh():
    texts = "".join(s for e in parse_po(catalogue("kk")) if e.msgid for s in e.msgstr.values())
    assert KAZAKH_LETTERS & set(texts), "the Kazakh catalogue uses none of the Kazakh letters"
    russian = {s for e in parse_po(catalogue("ru")) if e.msgid and len(e.msgid) > 12 for s in e.msgstr.values()}
    kazakh = {s for e in parse_po(catalogue("kk")) if e.msgid and len(e.msgid) > 12 for s in e.msgstr.values()}
    assert len(russian & kazakh) < 5, "Kazakh messages copied from Russian"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_source(language):
    """The .mo is committed; it must be compiled from the current .po."""
    for po in all_catalogues(language):
        check_compiled(po, language)


def check_compiled(po: Path, language: str):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: run manage.py compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for e in parse_po(po):
        if e.obsolete or not e.msgid:
            continue
        if e.msgid_plural is None:
            got = compiled.pgettext(e.msgctxt, e.msgid) if e.msgctxt else compiled.gettext(e.msgid)
            assert got == e.msgstr[0], f"{language} .mo is stale for {e.msgid!r}: run compilemessages"
        else:
            got = compiled.ngettext(e.msgid, e.msgid_plural, 1)
            assert got == e.msgstr[0], f"{language} .mo is stale for {e.msgid!r}: run compilemessages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_accepts_the_catalogue(language):
    if shutil.which("msgfmt") is None:
        pytest.skip("gettext is not installed")
    for po in all_catalogues(language):
        result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)
        assert result.returncode == 0, (po, result.stderr)


def test_catalogues_cover_the_code(tmp_path):
    """Run makemessages over a copy of the sources with the committed catalogues: nothing new
    may come out untranslated."""
    if shutil.which("xgettext") is None:
        pytest.skip("gettext is not installed")
    skip = {".venv", "var", ".git", "node_modules", "locale", "__pycache__", ".pytest_cache", ".ruff_cache"}
    for item in ROOT.iterdir():
        if item.name in skip:
            continue
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
        elif item.suffix in {".py", ".html", ".txt", ".toml", ".md"}:
            shutil.copy2(item, tmp_path / item.name)
    for language in LANGUAGES:
        target = tmp_path / "locale" / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy2(catalogue(language), target / "django.po")
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "kk", "-l", "ru", "--ignore=.venv", "--ignore=var",
         "--no-obsolete"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for language in LANGUAGES:
        for po in all_catalogues(language, tmp_path):
            problems = problems_of(parse_po(po), language)
            assert problems == [], (
                f"{po.relative_to(tmp_path)}: run `manage.py makemessages -l kk -l ru --ignore=.venv --ignore=var "
                f"--ignore=bench --ignore=tests`, translate (scripts/translate.py), compilemessages: {problems[:5]}"
            )
