"""Benchmarks of Esep's ledger: `python -m bench` (or `make bench`); results in BENCHMARKS.md.

One run builds one generated ledger in its own database (`esep_bench`, created and dropped
by the run) and measures, side by side with the limit each is read against:
(a) entries/s through the service path, (b) postings/s through the bulk-load path,
(c) the trial balance over 1,000,000 postings, (d) hledger, ledger-cli and beancount
computing the same balances from the same ledger written as journals.
"""
