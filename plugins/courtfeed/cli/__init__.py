"""The `courtfeed` command line: check, doctor, preview, ingest, status, automap, reprocess, migrate.

Output is quiet and free of cell values by default: counts, statuses, file names and reasons.
Mapped records (names, birth dates, phones) are printed only with --show-records N (preview,
for the person checking a template, shows a few unless told otherwise).
"""

from __future__ import annotations

import os
import sys

from courtfeed.cli.commands import UsageError
from courtfeed.cli.parser import build_parser

__all__ = ["UsageError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    from courtfeed.config.files import ConfigError
    from courtfeed.rejects import FileRejected

    args = build_parser(__doc__).parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except FileRejected as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"not found: {exc.filename}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # no tracebacks for users; COURTFEED_DEBUG=1 shows them
        if os.environ.get("COURTFEED_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
