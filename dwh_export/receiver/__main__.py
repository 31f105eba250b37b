"""python -m dwh_export.receiver --port 8765 --database-url postgres://… --public-key esep-1=public.pem"""

import argparse
import logging
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..signing import Ed25519Verifier
from .app import Receiver


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        logging.getLogger("dwh_export.receiver").info("%s " + format, self.client_address[0], *args)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m dwh_export.receiver", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--database-url", required=True)
    p.add_argument("--public-key", action="append", required=True, metavar="KEY_ID=PEM_PATH")
    p.add_argument("--max-body", type=int, default=1 << 30, help="largest gzip body accepted, bytes")
    p.add_argument("--max-raw", type=int, default=4 << 30, help="largest uncompressed batch accepted, bytes")
    p.add_argument("--stall-before-commit", type=float, default=0.0, help="test hook")
    p.add_argument("--stall-after-commit", type=float, default=0.0, help="test hook")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = Receiver(args.database_url, Ed25519Verifier.from_files(args.public_key), max_body=args.max_body,
                   max_raw=args.max_raw, stall_before_commit=args.stall_before_commit,
                   stall_after_commit=args.stall_after_commit)
    with make_server(args.host, args.port, app, server_class=ThreadingWSGIServer,
                     handler_class=QuietHandler) as server:
        print(f"dwh receiver listening on {args.host}:{args.port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
