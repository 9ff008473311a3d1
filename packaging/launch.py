"""Entry point PyInstaller freezes: one executable for the GUI, the CLI and the sandbox's processes.

    prism-desktop [GUI options]          the desktop app
    prism-desktop cli ARGS...            the `prism` command line
    prism-desktop python -m MODULE ...   run one of the app's own modules (the sandbox host and agents)
"""

import runpy
import sys


def _run() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "cli":
        from app.cli import main as cli_main

        return cli_main(sys.argv[2:])
    if command == "python":
        if len(sys.argv) < 4 or sys.argv[2] != "-m":
            print("usage: prism-desktop python -m MODULE [ARGS...]", file=sys.stderr)
            return 2
        module = sys.argv[3]
        sys.argv = [module, *sys.argv[4:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from app.main import main as gui_main

    return gui_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_run())
