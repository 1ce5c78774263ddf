"""One config tree for a render, with presets. Every knob the CLI offers lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pipeline.errors import InputError

# Output sizes per aspect ratio: the long side is 1920 or the short side 1080, as social platforms expect.
ASPECT_SIZES_PX: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
    "16:9": (1920, 1080),
}
DEFAULT_ASPECT = "9:16"
DEFAULT_FPS = 30.0
MIN_FPS, MAX_FPS = 10.0, 60.0
STYLES = ("calm", "natural", "expressive")
MAX_MOTION_SCALE = 3.0
# rules: phones to shapes (default: best on the real talking-face videos, see
# checkpoints/MODEL_CARD.md); net: the audio-to-mouth network; fusion: both, closures from
# either; envelope: the loudness baseline the benchmarks compare against.
MOUTH_DRIVERS = ("rules", "net", "fusion", "envelope")


def cli_flag(setting: str) -> str:
    """`avatar render`'s flag for a setting: motion_scale -> --motion-scale."""
    return "--" + setting.replace("_", "-")


@dataclass(frozen=True)
class VideoConfig:
    aspect: str = DEFAULT_ASPECT
    fps: float = DEFAULT_FPS
    crf: int = 20                 # x264 quality; 18-23 is visually clean for talking heads
    preset: str = "veryfast"      # x264 speed/size trade-off; encoding is the floor of our speed

    @property
    def size_px(self) -> tuple[int, int]:
        return ASPECT_SIZES_PX[self.aspect]


@dataclass(frozen=True)
class CaptionConfig:
    enabled: bool = True
    min_words: int = 2
    max_words: int = 6
    sidecars: bool = True         # write .srt and .vtt beside the video


@dataclass(frozen=True)
class MotionConfig:
    style: str = "natural"
    seed: int = 0
    scale: float = 1.0            # --motion-scale: head, brow and gaze amplitude (0 = still head)
    loop: bool = False            # --loop: the last frame flows into the first


@dataclass(frozen=True)
class RenderConfig:
    voice: str = "joe"
    face_index: int | None = None  # which face when the photo has several (largest first)
    mouth: str = "rules"
    video: VideoConfig = field(default_factory=VideoConfig)
    captions: CaptionConfig = field(default_factory=CaptionConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    # Limits for one video: about an hour of speech either way (a 2-hour script is refused
    # with a message to split it).
    max_script_chars: int = 60_000
    max_audio_s: float = 65 * 60
    lexicon: str | None = None     # --lexicon: a YAML file of word: spoken form, over the voice's own
    duration_s: float | None = None  # --duration: a clip with no speech (idle, or a --loop)
    quiet: bool = False

    def validate(self, setting: Callable[[str], str] = cli_flag) -> RenderConfig:
        """Self, or InputError naming the bad setting as the user gave it: `setting` turns a
        field name (motion_scale) into what they typed (--motion-scale on the command line,
        the field itself in a manifest or the studio)."""
        if self.video.aspect not in ASPECT_SIZES_PX:
            raise InputError(
                f"Unknown aspect ratio {self.video.aspect!r}. "
                f"Use one of: {', '.join(ASPECT_SIZES_PX)}."
            )
        if not (MIN_FPS <= self.video.fps <= MAX_FPS):
            raise InputError(
                f"Frame rate {self.video.fps:g} is out of range. Use {setting('fps')} between "
                f"{MIN_FPS:g} and {MAX_FPS:g} (30 is standard for social video)."
            )
        if self.motion.style not in STYLES:
            raise InputError(
                f"Unknown style {self.motion.style!r}. Use one of: {', '.join(STYLES)}."
            )
        if not (0.0 <= self.motion.scale <= MAX_MOTION_SCALE):
            raise InputError(
                f"Motion scale {self.motion.scale:g} is out of range. Use {setting('motion_scale')} "
                f"between 0 (a still head that still blinks) and {MAX_MOTION_SCALE:g}; 1 is natural."
            )
        if self.duration_s is not None and not (0 < self.duration_s <= self.max_audio_s):
            raise InputError(
                f"Duration {self.duration_s:g} s is out of range. Use {setting('duration')} between "
                f"0 and {self.max_audio_s:g} seconds (a few seconds make a profile-picture loop)."
            )
        if self.mouth not in MOUTH_DRIVERS:
            raise InputError(
                f"Unknown mouth driver {self.mouth!r}. Use one of: {', '.join(MOUTH_DRIVERS)}."
            )
        return self


PRESETS: dict[str, RenderConfig] = {
    "default": RenderConfig(),
    # Quick drafts: faster x264 preset, slightly lower quality.
    "draft": RenderConfig(video=VideoConfig(crf=26, preset="ultrafast")),
    # Final exports: slower preset, higher quality.
    "quality": RenderConfig(video=VideoConfig(crf=18, preset="medium")),
}


def preset(name: str, **overrides) -> RenderConfig:
    """A preset with top-level fields replaced, e.g. preset("draft", voice="joe")."""
    if name not in PRESETS:
        raise InputError(f"Unknown preset {name!r}. Use one of: {', '.join(PRESETS)}.")
    return replace(PRESETS[name], **overrides)
