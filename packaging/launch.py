"""Entry point PyInstaller freezes: one binary that is the GUI, or the CLI when called as `prism-desktop cli ...`."""

import sys


def _run() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "cli":
        from app.cli import main as cli_main

        return cli_main(sys.argv[2:])
    from app.main import main as gui_main

    return gui_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_run())
