"""python -m bench.financing [--lines 10000] [--runs 3] [--keep]

Financing plan import speed (issue 4: a 10,000-line file imports in ≤ 5 s). In a database
of its own (esep_bench_financing), with the shipped reference plus enough bench programmes for
distinct lines, it imports the same plan as JSON and as XLSX (side by side, same run), a
certificate of change on top of it, and a 10,000-line file with an error on every line
(refused with every problem listed). Each figure is the median of --runs, each run a new
institution. A "line" is one classification row of one plan: a 10,000-line file holds
5,000 rows by obligations and the same 5,000 by payments. Writes its section of BENCHMARKS.md.
"""

import argparse
import statistics
import sys
import time

from .__main__ import django_on_bench_database, say


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.financing")
    p.add_argument("--lines", type=int, default=10_000, help="plan lines in the file (both plans together)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--database", default="esep_bench_financing")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=True)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    with django_on_bench_database(args.database, keep=args.keep):
        return run(args)


def _lines(keys, *, factor=1, bad=False):
    out = []
    for i, (adm, prog, sub, spec) in enumerate(keys):
        months = [f"{(1000 + i % 97) * factor}.{i % 100:02d}" for _m in range(12)]
        total = sum(int(m.split(".")[0]) * 100 + int(m.split(".")[1]) for m in months)
        year = f"{total // 100}.{total % 100:02d}"
        if bad:
            months[i % 12] = "n/a"
        out.append({"administrator": adm, "programme": prog, "subprogramme": sub, "specific": spec,
                    "months": months, "year": year})
    return out


def run(args) -> int:
    import copy

    from django.core.management import call_command

    from access import services as access_services
    from access.roles import Role
    from esep.imports import ImportRefused
    from financing import services
    from financing.models import Channel, PlanLine
    from ledger import reference
    from ledger.loading import load_reference
    from ledger.models import BudgetProgramme, Specific
    from tests.factories import make_bin, make_iin
    from tests.financing_support import as_json, as_xlsx

    from .common import loadavg, machine
    from .section import write_section

    say(f"database {args.database}: migrating")
    call_command("migrate", verbosity=0)
    load_reference()
    specifics = sorted(Specific.objects.values_list("code", flat=True))
    rows = args.lines // 2
    subprogrammes = -(-rows // len(specifics))
    BudgetProgramme.objects.bulk_create([
        BudgetProgramme(administrator="261", functional_group="04", functional_subgroup="9",
                        programme="9" + f"{i:02d}"[:2], subprogramme=f"{i:03d}", name_ru="Бенч", name_kk="Бенч",
                        valid_from="2024-01-01")
        for i in range(1, subprogrammes + 1)], ignore_conflicts=True)
    reference.invalidate()
    keys = [("261", "9" + f"{i:02d}"[:2], f"{i:03d}", s) for i in range(1, subprogrammes + 1) for s in specifics][:rows]
    user = access_services.create_user(actor=None, username="bench", password="x" * 20, last_name="Бенч",
                                       first_name="Б", iin=make_iin("850101", "9"))
    lines = _lines(keys)
    with_cursor_machine = None
    from django.db import connection

    with connection.cursor() as cursor:
        with_cursor_machine = machine(cursor)

    results: dict[str, list[float]] = {"json": [], "xlsx": [], "certificate": [], "refused": []}
    sizes = {}
    problems_found = 0
    for run_no in range(args.runs):
        for channel in ("json", "xlsx"):
            institution = access_services.create_institution(
                actor=None, bin=make_bin(f"{run_no}{0 if channel == 'json' else 1}"), name_kk="Бенч", name_ru="Бенч",
                budget_level="regional", region="Бенч", administrator_code="261")
            access_services.grant_role(actor=None, user=user, institution=institution, role=Role.ACCOUNTANT)
            doc = {"document_id": f"B-{run_no}-{channel}", "bin": institution.bin, "year": 2026, "kind": "plan",
                   "number": "1", "date": "2026-01-05", "obligations": lines, "payments": copy.deepcopy(lines)}
            data = as_json(doc) if channel == "json" else as_xlsx(doc)
            sizes[channel] = len(data)
            started = time.perf_counter()
            services.import_plan(institution=institution, actor=user, data=data, fmt=channel,
                                 channel=Channel.JSON if channel == "json" else Channel.XLSX)
            results[channel].append(time.perf_counter() - started)
            if channel == "json":
                cert = {**doc, "document_id": f"C-{run_no}", "kind": "certificate", "date": "2026-03-02",
                        "obligations": _lines(keys, factor=0), "payments": _lines(keys, factor=0)}
                data = as_json(cert)
                started = time.perf_counter()
                services.import_plan(institution=institution, actor=user, data=data)
                results["certificate"].append(time.perf_counter() - started)
                bad = {**doc, "document_id": f"X-{run_no}", "obligations": _lines(keys, bad=True),
                       "payments": _lines(keys, bad=True)}
                data = as_json(bad)
                started = time.perf_counter()
                try:
                    services.import_plan(institution=institution, actor=user, data=data)
                except ImportRefused as refused:
                    problems_found = len(refused.problems)
                results["refused"].append(time.perf_counter() - started)
        say(f"run {run_no + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in results.items()))
    med = {k: statistics.median(v) for k, v in results.items()}
    load = loadavg()
    m = with_cursor_machine
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    best = {k: min(v) for k, v in results.items()}

    def row(what, size, key, target="—", bold=False):
        seconds = med[key]
        figure = f"**{seconds:.2f} s**" if bold else f"{seconds:.2f} s"
        return (f"| {what} | {size} | {figure} | {best[key]:.2f} s | {seconds / args.lines * 1e6:.0f} µs | "
                f"{target} |")

    text = "\n".join([
        "### Financing plan import (bench/financing.py)",
        "",
        f"`python -m bench.financing --lines {args.lines} --runs {args.runs}` — {stamp}; machine: {m['cpu_model']},",
        f"{m['nproc']} cores, {m['ram_gb']} GB RAM, {m['postgresql']}. 1-minute load average: {m['loadavg_start']} at",
        f"the start, **{load}** at the end (other work on the 2 cores would make these upper bounds).",
        "",
        f"A {args.lines:,}-line file = {rows:,} classification rows × 2 plans (by obligations and by payments),",
        "12 months and the year each; the same document through each channel, a new institution each run;",
        f"median of {args.runs}, side by side in the same run.",
        "",
        "| what | file size | time (median) | best run | per line (median) | target |",
        "|---|---:|---:|---:|---:|---:|",
        row("JSON plan: read, every check, write", f"{sizes['json'] / 1e6:.1f} MB", "json", "≤ 5 s", True),
        row("XLSX plan (ИПФ layout), same content", f"{sizes['xlsx'] / 1e6:.1f} MB", "xlsx", "≤ 5 s", True),
        row("certificate of change on top (every line; + no-negative check against the plan in force)", "—",
            "certificate"),
        row(f"JSON with an error on every line, refused ({problems_found} problems listed, capped)", "—",
            "refused"),
        "",
        f"Plan lines written in the run: {PlanLine.objects.count():,}. The XLSX path costs more than JSON because",
        "openpyxl parses every cell's XML (read-only mode, values only); the checks and the write are shared.",
    ])
    print(text)
    if args.markdown:
        write_section("financing", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
