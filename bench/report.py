"""The results as a terminal table and as the measured part of BENCHMARKS.md.

BENCHMARKS.md keeps hand-written notes outside the markers below; a run replaces only what
lies between them.
"""

from pathlib import Path

BEGIN, END = "<!-- bench:begin (written by python -m bench) -->", "<!-- bench:end -->"
MARKDOWN = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"

ENTRIES_PER_S_TARGET = 2_000
SINGLE_SHARE_TARGET = 0.5
POSTINGS_PER_S_TARGET = 50_000
TRIAL_BALANCE_MS_TARGET = 50


def _n(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value < 100:
        return f"{value:,.1f}"
    return f"{round(value):,}".replace(",", " ")


def _verdict(ok) -> str:
    return "—" if ok is None else ("PASS" if ok else "MISS")


def targets(r: dict) -> list[tuple[str, str, str, str, str]]:
    """(what, measured, compared with, target, verdict) rows."""
    rows = []
    a = r.get("service_path")
    if a:
        rows.append(("(a) service path, batches of 1,000 (post_entries)",
                     f"{_n(a['batch']['entries_per_s'])} entries/s",
                     f"first batch {_n(a['batch']['first_batch_entries_per_s'])}/s, "
                     f"last {_n(a['batch']['last_batch_entries_per_s'])}/s",
                     f"≥ {_n(ENTRIES_PER_S_TARGET)} entries/s",
                     _verdict(a["batch"]["entries_per_s"] >= ENTRIES_PER_S_TARGET)))
        for key, label in (("single", "fresh session"),
                           ("single_after_batches", "session that began with a batch")):
            x = a[key]
            rows.append((f"(a) service path, one entry per transaction (post_entry), {label}",
                         f"{_n(x['entries_per_s'])} entries/s",
                         f"one-round-trip SQL, interleaved: {_n(x['raw_entries_per_s'])} entries/s "
                         f"(= {x['share_of_raw']:.0%})",
                         "≥ 50% of one-round-trip", _verdict(x["share_of_raw"] >= SINGLE_SHARE_TARGET)))
    b = r.get("bulk")
    if b:
        le = b["load_entries"]
        rows.append(("(b) bulk load (load_entries)", f"{_n(le['postings_per_s'])} postings/s",
                     f"raw COPY, no constraints: {_n(b['raw_copy']['postings_per_s'])} postings/s; first load "
                     f"{_n(le['first_load_postings_per_s'])}/s, last {_n(le['last_load_postings_per_s'])}/s",
                     f"≥ {_n(POSTINGS_PER_S_TARGET)} postings/s",
                     _verdict(le["postings_per_s"] >= POSTINGS_PER_S_TARGET)))
    c = r.get("trial_balance")
    d = r.get("tools")
    if c:
        t = c["timings"]
        fastest_tool = None
        if d:
            years = [v["seconds"] for k, v in d["runs"].items() if "_year" in k and not v["timed_out"]]
            fastest_tool = min(years) * 1000 if years else None
        for key, label in (("turnovers_year", "from turnovers, year"), ("turnovers_month", "from turnovers, June"),
                           ("scan_year", "full GROUP BY, year"), ("scan_month", "full GROUP BY, June")):
            ms = t[key]["median_ms"]
            compared = (f"fastest tool (year): {fastest_tool / 1000:.1f} s" if fastest_tool and "year" in key
                        else f"min {t[key]['min_ms']:.1f} / max {t[key]['max_ms']:.1f} ms")
            rows.append((f"(c) trial balance {label}", f"{ms:.1f} ms", compared, f"≤ {TRIAL_BALANCE_MS_TARGET} ms",
                         _verdict(ms <= TRIAL_BALANCE_MS_TARGET)))
        if d:
            year_ms = t["turnovers_year"]["median_ms"]
            for tool in ("ledger", "hledger", "beancount"):
                run = next((v for k, v in d["runs"].items() if k.startswith(tool) and "_year" in k), None)
                if run is None:
                    continue
                shown = "timeout" if run["timed_out"] else f"{run['seconds']:.1f} s"
                rows.append((f"(d) trial balance vs {tool} (year)", f"{year_ms:.1f} ms", f"{tool}: {shown}",
                             "faster than the tool", _verdict(run["timed_out"] or year_ms < run["seconds"] * 1000)))
    return rows


def table(r: dict) -> str:
    rows = [("what", "measured", "compared with", "target", "verdict"), *targets(r)]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    w = r.get("what_if")
    if w and "after" in w:
        lines.append("")
        for when in ("before", "after"):
            x = w[when]
            lines.append(f"what-if {when:6s}: batches {_n(x['service_path']['batch']['entries_per_s'])} entries/s, "
                         f"one per transaction {_n(x['service_path']['single']['entries_per_s'])}/s, "
                         "session begun with a batch "
                         f"{_n(x['service_path']['single_after_batches']['entries_per_s'])}/s "
                         f"(one-round-trip {_n(x['service_path']['single']['raw_entries_per_s'])}/s), "
                         f"bulk {_n(x['bulk']['load_entries']['postings_per_s'])} postings/s, partial trial balance "
                         f"{x['trial_balance_partial']['median_ms']} ms")
    d = r.get("tools")
    if d:
        lines.append("")
        lines.append("tool runs (same ledger, same balances):")
        for name, run in d["runs"].items():
            check = run.get("check")
            agree = "timeout" if run["timed_out"] else (
                "equal on all accounts" if check and check["equal"] else f"DIFFERENT: {check}")
            lines.append(f"  {name:28s} {run['seconds']:8.2f} s  {run['rss_mb']:6d} MB  {agree}")
    return "\n".join(lines)


def _md_table(header: tuple, rows: list[tuple]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def markdown_section(r: dict) -> str:
    m = r["machine"]
    size = r.get("trial_balance", {}).get("size", {})
    parts = [
        f"Run of {m['date']} · `python -m bench {r['args']}` · {r['total_seconds'] / 60:.1f} min in all",
        "",
        "### Machine",
        "",
        _md_table(("", ""), [
            ("CPU", f"{m['cpu_model']}, {m['nproc']} cores (nproc)"), ("RAM", f"{m['ram_gb']} GB"),
            ("PostgreSQL", f"{m['postgresql']} · "
             + ", ".join(f"{k}={v}" for k, v in m["postgresql_settings"].items())),
            ("Python", m["python"]), ("packages", ", ".join(f"{k} {v}" for k, v in m["packages"].items())),
            ("tools", f"{m['ledger']}; {m['hledger']}"),
            ("load average (1 min) at start / end", f"{m['loadavg_start']} / {r.get('loadavg_end')}"),
        ]),
        "",
        "### Data",
        "",
        _md_table(("", ""), [
            ("bulk-loaded ledger (one institution)",
             f"{_n(size.get('postings'))} postings in {_n(r.get('bulk', {}).get('entries'))} entries (3 postings "
             f"each), {size.get('accounts')} accounts, {size.get('specifics')} specifics, 12 months of "
             f"{r['year']}, {_n(size.get('turnover_rows'))} turnover rows"),
            ("table sizes", f"ledger_posting {size.get('ledger_posting_size')}, "
                            f"ledger_journalentry {size.get('ledger_journalentry_size')}"),
            ("service-path runs", "each in its own institution of the same database"),
        ]),
        "",
        "### Targets",
        "",
        _md_table(("what", "measured", "compared with (same run)", "target", "verdict"), targets(r)),
        "",
    ]
    a = r.get("service_path")
    if a:
        parts += [
            "### (a) Service path",
            "",
            _md_table(("path", "entries", "seconds", "entries/s", "one-round-trip SQL, interleaved (entries/s)"), [
                ("post_entry, one per transaction (controls, 1 journal row each), fresh session",
                 _n(a["single"]["entries"]), a["single"]["seconds"], _n(a["single"]["entries_per_s"]),
                 _n(a["single"]["raw_entries_per_s"])),
                ("post_entries, batches of 1,000 (controls, 1 journal row per batch)", _n(a["batch"]["entries"]),
                 a["batch"]["seconds"], _n(a["batch"]["entries_per_s"]), ""),
                ("post_entry, one per transaction, in a session whose first posting insert was a batch of 1,000",
                 _n(a["single_after_batches"]["entries"]), a["single_after_batches"]["seconds"],
                 _n(a["single_after_batches"]["entries_per_s"]), _n(a["single_after_batches"]["raw_entries_per_s"])),
            ]),
            "",
            "Seconds per batch: " + ", ".join(f"{s:.2f}" for s in a["batch"]["seconds_per_batch"]),
            "",
            f"Statements one `post_entry` sends ({len(a['round_trips']['post_entry'])} round trips):",
            "",
            *[f"{i}. `{q}`" for i, q in enumerate(a["round_trips"]["post_entry"], 1)],
            "",
        ]
    b = r.get("bulk")
    if b:
        parts += [
            "### (b) Bulk load",
            "",
            _md_table(("path", "postings", "seconds", "postings/s"), [
                ("raw COPY into an unconstrained table (the limit)", _n(b["raw_copy"]["postings"]),
                 b["raw_copy"]["seconds"], _n(b["raw_copy"]["postings_per_s"])),
                (f"load_entries: controls, journal, every trigger ({b['loads']} loads)",
                 _n(b["load_entries"]["postings"]), b["load_entries"]["seconds"],
                 _n(b["load_entries"]["postings_per_s"])),
            ]),
            "",
            f"Loads of {_n(b['chunk_entries'])} entries ({_n(3 * b['chunk_entries'])} postings), one transaction "
            f"each; the first ran at {_n(b['load_entries']['first_load_postings_per_s'])} postings/s, the last "
            f"(ledger at {_n(b['postings'])} postings) at {_n(b['load_entries']['last_load_postings_per_s'])}/s, "
            f"the slowest took {b['load_entries']['slowest_load_seconds']} s. Generating the drafts took "
            f"{b['generate_seconds']} s (not counted).",
            "",
        ]
        bd = r.get("bulk_breakdown")
        if bd:
            parts += [
                f"Where one load of {_n(bd['entries'])} entries goes (same steps as load_entries, timed one by one, "
                f"rolled back; {_n(bd['postings_per_s'])} postings/s):",
                "",
                _md_table(("step", "seconds", "share"),
                          [(k, v, f"{bd['share'][k]:.0%}") for k, v in bd["seconds"].items()]),
                "",
            ]
    c = r.get("trial_balance")
    if c:
        parts += [
            "### (c) Trial balance",
            "",
            f"After VACUUM ANALYZE of the ledger tables ({c['vacuum_analyze_seconds']} s). Median of "
            f"{c['timings']['turnovers_year']['runs']} calls after 2 warm-up calls, through ledger.queries "
            "(SQL and Python assembly of the rows).",
            "",
            _md_table(("range", "from turnovers (ms)", "full GROUP BY (ms)", "same figures"), [
                (name, c["timings"][f"turnovers_{name}"]["median_ms"], c["timings"][f"scan_{name}"]["median_ms"],
                 "yes" if c["turnovers_equal_scan"][name] else "NO")
                for name in ("year", "month", "partial")
            ]),
            "",
            "month = June; partial = 15 March to 10 September (whole months from turnovers, the days at both "
            "edges from postings).",
            "",
            f"Year totals equal the generator's own per-account totals: "
            f"{'yes' if c['equals_generator_totals'] else 'NO'} ({c['accounts_in_year']} accounts).",
            "",
        ]
    d = r.get("tools")
    if d:
        e = d["export"]
        rows = []
        for name, run in d["runs"].items():
            check = run.get("check")
            rows.append((name, "timeout" if run["timed_out"] else run["seconds"], run["rss_mb"],
                         "timeout" if run["timed_out"] else (
                             f"yes, {check['accounts']} accounts" if check and check["equal"]
                             else f"NO: {check}")))
        parts += [
            "### (d) The same ledger in hledger, ledger-cli and beancount",
            "",
            f"Exported from the database: {_n(e['entries'])} transactions, {_n(e['postings'])} postings; "
            f"journal {e['journal_mb']} MB, beancount file {e['beancount_mb']} MB ({e['seconds']} s to write). "
            f"Each tool is a separate process, limited to {d['timeout_s']} s.",
            "",
            _md_table(("run", "seconds", "peak RSS (MB)", "per-account totals equal Esep's exactly"), rows),
            "",
        ]
        if d.get("small"):
            parts += ["Smaller size (a tool hit its limit at full size):", "",
                      "```", str(d["small"]), "```", ""]
    w = r.get("what_if")
    if w and "after" in w:
        before, after, applied = w["before"], w["after"], w["applied"]

        def row(label, path, target):
            def get(d):
                for key in path:
                    d = d[key]
                return d
            return (label, _n(get(before)), _n(get(after)), target)

        parts += [
            "### What-if: proposed product changes, measured before and after in the same run",
            "",
            "Applied to the benchmark database only, after everything above (bench/what_if.py): the admission "
            "triggers' statements run with EXECUTE (planned for the transition table at hand) when it holds more "
            "than 100 rows and keep their cached plan below that, and the turnover upsert takes the period from "
            f"ledger_period by the posting's date ({applied['posting_trigger']}); redundant single-column "
            f"indexes dropped: {', '.join(applied['dropped_indexes']) or 'none left'}; for the last row, a "
            f"covering index on postings (institution, date): {applied.get('edge_index', 'not created')}. "
            f"Each side runs on fresh institutions of the same database (bulk: {_n(after['bulk']['postings'])} "
            "postings).",
            "",
            _md_table(("path", "before", "after", "target"), [
                row("post_entries, batches of 1,000 (entries/s)", ("service_path", "batch", "entries_per_s"),
                    f"≥ {_n(ENTRIES_PER_S_TARGET)}"),
                row("post_entry, one per transaction, fresh session (entries/s)",
                    ("service_path", "single", "entries_per_s"), "≥ 50% of one-round-trip"),
                row("post_entry, one per transaction, session begun with a batch (entries/s)",
                    ("service_path", "single_after_batches", "entries_per_s"), "≥ 50% of one-round-trip"),
                row("one SQL statement per entry, interleaved (entries/s)",
                    ("service_path", "single", "raw_entries_per_s"), "the limit"),
                row("load_entries (postings/s)", ("bulk", "load_entries", "postings_per_s"),
                    f"≥ {_n(POSTINGS_PER_S_TARGET)}"),
                row("trial balance 15 Mar–10 Sep from turnovers, 1M-posting ledger (ms)",
                    ("trial_balance_partial", "median_ms"), f"≤ {TRIAL_BALANCE_MS_TARGET}"),
            ]),
            "",
            f"Other processes used {before.get('others_cpu_cores')} cores (before) and "
            f"{after.get('others_cpu_cores')} cores (after) on average meanwhile.",
            "",
        ]
    cpu = [(name, r[key].get("others_cpu_cores")) for key, name in (
        ("service_path", "(a)"), ("bulk", "(b)"), ("trial_balance", "(c)"), ("tools", "(d)"))
        if r.get(key) and r[key].get("others_cpu_cores") is not None]
    if cpu:
        parts += ["### Other load on the machine", "",
                  "CPU used by processes other than the benchmark and its database backends, in cores on average "
                  "(of " + str(m["nproc"]) + "): " + ", ".join(f"{n} {c}" for n, c in cpu)
                  + ". Other engineers' test runs share this machine; figures measured while they ran are lower.",
                  ""]
    rules = r.get("rules")
    if rules:
        e = rules["engine"]
        posting = rules.get("posting", {})
        rows = [
            ("posting check, 3 lines, passes", _n(e["posting_pass_3_lines"]["checks_per_s"]),
             f"{e['posting_pass_3_lines']['us_per_check']} µs", "≥ 20 000 checks/s",
             _verdict(e["posting_pass_3_lines"]["checks_per_s"] >= rules["target_checks_per_s"])),
            ("advance check, 1 fact", _n(e["advance_pass_1_fact"]["checks_per_s"]),
             f"{e['advance_pass_1_fact']['us_per_check']} µs", "", ""),
            ("posting check that blocks (7 hits, 3 languages)", _n(e["posting_block_3_lines_7_hits"]["checks_per_s"]),
             f"{e['posting_block_3_lines_7_hits']['us_per_check']} µs", "", ""),
            ("posting check, 500 lines", _n(e["posting_pass_500_lines"]["checks_per_s"]),
             f"{e['posting_pass_500_lines']['us_per_check']} µs", "", ""),
            (f"8 threads, {_n(e['threads']['checks'])} checks", _n(e["threads"]["checks_per_s"]),
             f"{e['threads']['mismatches']} verdicts differ from sequential", "same verdicts",
             _verdict(e["threads"]["mismatches"] == 0)),
        ]
        parts += ["### ФЛК rules engine (issue 3)", "",
                  _md_table(("check", "checks/s", "per check", "target", "verdict"), rows), "",
                  f"Memory: {_n(e['memory']['checks'])} checks in a row ({int(e['memory']['blocking_share'] * 100)}% "
                  f"blocking): RSS {_n(e['memory']['rss_kb_before'])} kB before, {_n(e['memory']['rss_kb_after'])} kB "
                  f"after ({e['memory']['rss_kb_growth']} kB growth) in {e['memory']['seconds']} s.", ""]
        if posting and "skipped" not in posting:
            added = [(name.replace("_", " "), f"{v['facts_and_enforce_median_ms']} ms",
                      f"{v['with_cash_part_median_ms']} ms vs {v['period_lock_same_statements_median_ms']} ms",
                      f"{v['added_ms']} ms", _verdict(v["added_ms"] <= posting["target_ms"]))
                     for name, v in posting.items() if isinstance(v, dict)]
            parts += ["Time the controls add to one posting (facts + enforce, plus the cash lock and balance read "
                      "when the entry pays out of cash), median of "
                      f"{_n(next(v for v in posting.values() if isinstance(v, dict))['postings'])} postings:", "",
                      _md_table(("entry", "facts + enforce", "period lock with / without cash part", "added",
                                 f"≤ {posting['target_ms']} ms"), added), ""]
    v = r.get("verify")
    if v:
        parts += ["### Verification", "",
                  f"`verify_all` (hash chains recomputed in Python, every entry's balance, turnovers against a "
                  f"full recompute) over the benchmark database: {v['seconds']} s, "
                  f"{'clean' if not v['breaches'] else str(v['breaches'][:5])}.", ""]
    return "\n".join(parts)


def write_markdown(r: dict, notes_if_new: str) -> None:
    section = f"{BEGIN}\n{markdown_section(r)}\n{END}"
    if MARKDOWN.exists() and BEGIN in MARKDOWN.read_text(encoding="utf-8"):
        text = MARKDOWN.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1] if END in rest else ""
        MARKDOWN.write_text(head + section + tail, encoding="utf-8")
    else:
        MARKDOWN.write_text(f"# Benchmarks\n\n{section}\n\n{notes_if_new}", encoding="utf-8")


if __name__ == "__main__":  # python -m bench.report [results.json]: table and BENCHMARKS.md from a saved run
    import json
    import sys

    from .common import OUT

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT / "latest.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    print(table(saved))
    write_markdown(saved, "")
    print(f"updated {MARKDOWN}")
