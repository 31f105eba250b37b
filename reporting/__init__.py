"""Registers and financial statements FO-1…FO-5, consolidation, approval."""
