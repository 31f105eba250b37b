"""Reference receiver of the export (БО ДБҚ side): a small WSGI service with its own
PostgreSQL database. Run: python -m dwh_export.receiver --port 8765 --database-url URL
--public-key esep-1=path/to/public.pem. No Django: it shares only the signature verifier and
the JSON Schemas of docs/exchange with the sender."""
