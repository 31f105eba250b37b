"""Per-account balances of a beancount file through its Python API (loader + realization),
the way `python -m bench` times beancount: `python -m bench.beancount_balance FILE
[--begin YYYY-MM-DD --end YYYY-MM-DD]`. Prints `account<TAB>number` per account, then one
JSON line of internal timings on stderr. Needs only beancount, not Django."""

import argparse
import datetime as dt
import json
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--begin", type=dt.date.fromisoformat)
    parser.add_argument("--end", type=dt.date.fromisoformat, help="exclusive")
    args = parser.parse_args()
    started = time.perf_counter()
    from beancount import loader
    from beancount.core import data, realization

    imported = time.perf_counter()
    entries, errors, _options = loader.load_file(args.path)
    loaded = time.perf_counter()
    if errors:
        print(f"{len(errors)} errors, first: {errors[0]}", file=sys.stderr)
        return 1
    if args.begin or args.end:
        entries = [e for e in entries if isinstance(e, data.Transaction)
                   and (not args.begin or e.date >= args.begin) and (not args.end or e.date < args.end)]
    root = realization.realize(entries)
    lines = []
    for account in realization.iter_children(root):
        units = account.balance.get_currency_units("KZT").number if not account.balance.is_empty() else None
        if units:
            lines.append(f"{account.account}\t{units}")
    done = time.perf_counter()
    sys.stdout.write("\n".join(lines) + "\n")
    print(json.dumps({"import_s": round(imported - started, 2), "load_s": round(loaded - imported, 2),
                      "realize_s": round(done - loaded, 2), "entries": len(entries)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
