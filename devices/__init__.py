"""Barcode scanners: serial, keyboard-wedge and batch terminals."""
