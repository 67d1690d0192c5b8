"""Command line of the sandbox: ``python3 -m chorus_pro.sandbox --port 8899``."""

import argparse
import logging
import sys

from .fixtures import BUYERS, SUPPLIER
from .server import SandboxServer, is_loopback
from .state import SandboxConfig


def _parser():
    parser = argparse.ArgumentParser(
        prog="chorus-sandbox",
        description="Local stand-in for PISTE and Chorus Pro (loopback only).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on"
    )
    parser.add_argument(
        "--port", type=int, default=8899, help="port (0: any free port)"
    )
    parser.add_argument(
        "--token-lifetime", type=float, default=3600.0, help="expires_in of tokens (s)"
    )
    parser.add_argument(
        "--flow-polls",
        type=int,
        default=1,
        help="report calls answering a pending status before the final one",
    )
    parser.add_argument(
        "--flow-final-after",
        type=float,
        default=None,
        help="seconds after which a flow is final even if nobody asks",
    )
    parser.add_argument(
        "--invoice-step-after",
        type=float,
        default=None,
        help="seconds per invoice lifecycle step (default: only the admin moves them)",
    )
    parser.add_argument(
        "--no-xsd", action="store_true", help="do not validate deposits against XSDs"
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="log every request"
    )
    return parser


def _banner(server, config):
    lines = [
        f"Chorus Pro sandbox listening on {server.url}",
        f"  API base URL   {server.url}   (token URL {server.url}/api/oauth/token)",
        f"  client id      {config.client_id}",
        f"  client secret  {config.client_secret}",
        f"  login          {config.login}",
        f"  password       {config.password}",
        f"  supplier       {SUPPLIER.siret}  id {SUPPLIER.id}  {SUPPLIER.name}",
    ]
    lines += [
        f"  buyer          {b.siret}  id {b.id}  {b.requirement:<10}  {b.name}"
        for b in BUYERS
    ]
    lines.append(
        f"  admin          {server.url}/_sandbox/stats  (see chorus_pro.sandbox)"
    )
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Run the sandbox in the foreground until interrupted."""
    args = _parser().parse_args(argv)
    if not is_loopback(args.host):
        sys.stderr.write(f"Refusing to listen on {args.host}: loopback only.\n")
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = SandboxConfig(
        token_lifetime=args.token_lifetime,
        flow_polls_before_final=args.flow_polls,
        flow_final_after=args.flow_final_after,
        invoice_step_after=args.invoice_step_after,
        check_xsd=not args.no_xsd,
    )
    server = SandboxServer(args.host, args.port, config)
    # The banner is the command's output (not a log): it says where to connect.
    sys.stdout.write(_banner(server, config))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stdout.write("Chorus Pro sandbox stopped\n")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
