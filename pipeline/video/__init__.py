"""Video output: caption phrases and files, ffmpeg encoding, and probing of the result."""

from pipeline.video.captions import (
    Phrase,
    fonts_dir,
    phrases,
    write_ass,
    write_srt,
    write_vtt,
)
from pipeline.video.encode import check_writable, encode
from pipeline.video.probe import MediaInfo, probe, read_audio, read_frames

__all__ = [
    "MediaInfo",
    "Phrase",
    "check_writable",
    "encode",
    "fonts_dir",
    "phrases",
    "probe",
    "read_audio",
    "read_frames",
    "write_ass",
    "write_srt",
    "write_vtt",
]
