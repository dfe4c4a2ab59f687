"""servicekit.faults: the one fault-injection hook of the kill tests."""

import subprocess
import sys

from servicekit.faults import KILLED, crash_hook


def test_the_hook_kills_the_process_like_kill_9_once_and_its_marker_file_disarms_it(tmp_path):
    marker = tmp_path / "crashed"
    script = ("import sys; from servicekit.faults import crash_hook\n"
              "hook = crash_hook('crash_here', 'crash_here', sys.argv[1], production=False)\n"
              "try:\n    hook('any', 'arguments')\nfinally:\n    print('cleanup ran')\n")
    died = subprocess.run([sys.executable, "-c", script, str(marker)], capture_output=True, text=True, timeout=60)
    assert died.returncode == KILLED == 137
    assert "cleanup ran" not in died.stdout  # no finally, as under SIGKILL
    assert marker.read_text() == "crashed"
    assert crash_hook("crash_here", "crash_here", str(marker), production=False) is None  # it fired once


def test_the_hook_is_refused_in_production_and_absent_for_another_fault_or_none(tmp_path):
    marker = str(tmp_path / "crashed")
    assert crash_hook("crash_here", "crash_here", marker, production=True) is None
    assert crash_hook("crash_elsewhere", "crash_here", marker, production=False) is None
    assert crash_hook(None, "crash_here", None, production=False) is None
    assert callable(crash_hook("crash_here", "crash_here", None, production=False))
