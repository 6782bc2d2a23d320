"""Expected-exchange protocol tests, at the bottom of the real PyVISA stack.

`expect(Driver, [(command, reply), ...])` builds a driver on a mock VISA library whose only
instrument is a script: each message the driver writes must be the next expected command
(exactly, termination included), and its reply (None for commands) is what the driver reads.
The test fails if the driver sends anything else, or leaves part of the script unsent.
"""

from collections import deque

import pytest
from smtjlab.mocks.visa_library import mock_resource_manager

RESOURCE = "GPIB0::9::INSTR"


class Script:
    """A pretend instrument that only knows the exchange it was given."""

    # The error check that follows every command, when the queue is empty.
    OK = (":SYSTem:ERRor?", '0,"No error"')

    def __init__(self, exchanges):
        self.expected = deque(exchanges)
        self.output = deque()

    def write(self, data: bytes) -> None:
        sent = data.decode()
        assert self.expected, f"driver sent {sent!r} after the script ended"
        command, reply = self.expected.popleft()
        assert sent == command + "\n", f"driver sent {sent!r}, the manual's exchange is {command!r}"
        if reply is not None:
            self.output.append(reply if isinstance(reply, bytes) else reply.encode() + b"\n")

    def read(self):
        return self.output.popleft() if self.output else None

    def clear(self) -> None:
        self.output.clear()

    def extend(self, exchanges) -> None:
        """More of the exchange, e.g. after a driver's connect sequence."""
        self.expected.extend(exchanges)


@pytest.fixture
def expect():
    scripts = []

    def build(driver, exchanges, **kwargs):
        script = Script(exchanges)
        scripts.append(script)
        rm = mock_resource_manager(devices={RESOURCE: script})
        instrument = driver(rm.open_resource(RESOURCE), **kwargs)
        instrument.script = script
        return instrument

    yield build
    for script in scripts:
        assert not script.expected, f"driver never sent {list(script.expected)}"
