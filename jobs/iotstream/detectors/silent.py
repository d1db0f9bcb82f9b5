"""`silent`: a sensor that reported before and then sent nothing for `after_seconds` of event
time, reported once: by the first batch that starts with the watermark past that point (the
engine's event-time timer), or when the sensor comes back, whichever is first. The engine hands
it on as a row of kind `silent` carrying the sensor's last reading; the score is after_seconds."""

from __future__ import annotations

from collections.abc import Iterable

from iotstream.detectors import Detector, Finding, Row


def findings(_row: Row, settings: object) -> Iterable[Finding]:
    return [("silent", float(settings.silent_seconds))]


DETECTOR = Detector(
    name="silent", settings={"after_seconds": ("silent_seconds", float)}, meant_for=("silent",),
    wanted="kind = 'silent'", findings=findings)
