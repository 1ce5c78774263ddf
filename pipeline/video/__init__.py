"""Video output: caption phrases and files, ffmpeg encoding, and probing of the result."""

from pipeline.video.captions import (
    Phrase,
    fonts_dir,
    phrases,
    write_ass,
    write_srt,
    write_vtt,
)
from pipeline.video.encode import AudioEncode, check_writable, concat_mux, encode, encode_segment
from pipeline.video.probe import MediaInfo, probe, read_audio, read_frames

__all__ = [
    "AudioEncode",
    "MediaInfo",
    "Phrase",
    "check_writable",
    "concat_mux",
    "encode",
    "encode_segment",
    "fonts_dir",
    "phrases",
    "probe",
    "read_audio",
    "read_frames",
    "write_ass",
    "write_srt",
    "write_vtt",
]
