"""Local AWS emulator: moto 5.2.5 plus the actions and attributes it lacks.

Public API:
    start_emulator(port=None, host="127.0.0.1") -> EmulatorHandle  (separate process)
    EmulatorHandle.url, .pid, .stop()
CLI:
    python -m emulator serve --port 5000 [--host 127.0.0.1] [--pidfile F]
"""

from emulator.process import EmulatorHandle, free_port, start_emulator

__all__ = ["EmulatorHandle", "free_port", "start_emulator"]
