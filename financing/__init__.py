"""Financing plans, contracts, obligations and payments."""
