"""The ``neardup`` command installed with the package: the same program as ``cargo install``."""

import signal
import sys

from neardup import _native


def main() -> None:
    """Runs the command line with ``sys.argv`` and exits with its code."""
    # Ctrl-C stops the run at once, as it does the binary (Python's own
    # handler would wait for the native call to return).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.cli_main(["neardup", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
