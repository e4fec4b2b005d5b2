"""A measurement run in a fresh Python process (its memory and its compiled steps its own), read back as JSON."""

import json
import subprocess

from runkit.errors import UserError


def json_from_child(command: list[str], what: str, cwd=None) -> dict:
    """The JSON object `command` prints on its last line of stdout; if it fails, one line naming `what` with the
    child's last line of stderr, or its exit status where it said nothing (killed: by the OOM killer, say)."""
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        said = result.stderr.strip().splitlines() or [f"exit {result.returncode}, nothing on stderr"]
        raise UserError(f"{what} failed: {said[-1]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
