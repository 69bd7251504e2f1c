"""A voice sample made fit for a Smallest instant clone: at most 15 s and 5 MB.

Smallest takes ``audio/mpeg``, ``audio/wav``, ``audio/webm`` and ``audio/mp4`` files up to
5 MB and recommends a clean 5-15 s sample (smallest-atoms-api.md §E.3). WAV is cut with the
standard library's ``wave`` module. MP3 is cut on frame boundaries (an MP3 is a sequence
of self-contained frames, so the first frames of a file are a valid file); frame lengths
come from the MPEG header tables. Other formats are sent as they are when small enough.
What was done, and what could not be checked, is returned as notes for the report.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field

MAX_SECONDS = 15.0
MIN_SECONDS = 5.0
MAX_BYTES = 5 * 1024 * 1024
_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/mpeg-3": "mp3",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/mp4": "m4a",
}
# MPEG-1 Layer III bitrates (kbps) and sample rates; MPEG-2/2.5 Layer III bitrates.
_BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
_BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
_RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


@dataclass
class Clip:
    data: bytes
    mime_type: str
    filename: str
    seconds: float | None
    notes: list[str] = field(default_factory=list)


def prepare_clip(data: bytes, mime_type: str) -> Clip:
    mime = "audio/wav" if data[:4] == b"RIFF" else ("audio/mpeg" if _is_mp3(data) else mime_type)
    if mime in ("audio/wav", "audio/wave", "audio/x-wav"):
        return _wav(data)
    if mime in ("audio/mpeg", "audio/mpeg-3"):
        return _mp3(data)
    clip = Clip(data, mime, f"sample.{_EXTENSIONS.get(mime, 'bin')}", None, ["length not checked for this format"])
    if len(data) > MAX_BYTES:
        raise ValueError(f"the {mime} sample is larger than 5 MB and cannot be cut")
    return clip


def _finish(clip: Clip) -> Clip:
    if clip.seconds is not None and clip.seconds < MIN_SECONDS:
        clip.notes.append(f"sample is only {clip.seconds:.1f} s; Smallest recommends 5-15 s")
    return clip


def _wav(data: bytes) -> Clip:
    with wave.open(io.BytesIO(data)) as reader:
        params = reader.getparams()
        seconds = params.nframes / params.framerate
        keep = min(
            params.nframes,
            int(MAX_SECONDS * params.framerate),
            max(1, (MAX_BYTES - 1024) // (params.sampwidth * params.nchannels)),
        )
        if keep >= params.nframes:
            return _finish(Clip(data, "audio/wav", "sample.wav", seconds))
        frames = reader.readframes(keep)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        writer.writeframes(frames)
    cut = keep / params.framerate
    return _finish(Clip(out.getvalue(), "audio/wav", "sample.wav", cut, [f"cut from {seconds:.1f} s to {cut:.1f} s"]))


def _is_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _frame(data: bytes, pos: int) -> tuple[int, float] | None:
    """(length in bytes, seconds) of the Layer III frame at ``pos``; None if none starts there."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer = (data[pos + 1] >> 3) & 3, (data[pos + 1] >> 1) & 3
    bitrate_index, rate_index, padding = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3, (data[pos + 2] >> 1) & 1
    if layer != 1 or version == 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    rate = _RATES[version][rate_index]
    bitrate = (_BITRATES_V1 if version == 3 else _BITRATES_V2)[bitrate_index] * 1000
    samples = 1152 if version == 3 else 576
    length = (144 if version == 3 else 72) * bitrate // rate + padding
    return length, samples / rate


def _mp3(data: bytes) -> Clip:
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # skip the ID3v2 tag: syncsafe size
        pos = 10 + ((data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F))
    start, seconds = pos, 0.0
    while True:
        frame = _frame(data, pos)
        if frame is None:
            break
        length, duration = frame
        if seconds + duration > MAX_SECONDS or pos + length - start > MAX_BYTES:
            cut = data[start:pos]
            return _finish(Clip(cut, "audio/mpeg", "sample.mp3", seconds, [f"cut to the first {seconds:.1f} s"]))
        pos, seconds = pos + length, seconds + duration
    if seconds == 0.0:
        if len(data) > MAX_BYTES:
            raise ValueError("the MP3 sample is larger than 5 MB and its frames could not be read to cut it")
        return Clip(data, "audio/mpeg", "sample.mp3", None, ["length not checked: no MPEG frames found"])
    return _finish(Clip(data, "audio/mpeg", "sample.mp3", seconds))
