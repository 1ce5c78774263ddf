"""Speech for a script (Piper, with exact phone timing) or from a narration recording."""

from pipeline.speech.audio import load_audio, save_wav
from pipeline.speech.synth import synthesize
from pipeline.speech.voices import Voice, VoiceProfile, list_voices, load_voice

__all__ = ["Voice", "VoiceProfile", "list_voices", "load_audio", "load_voice", "save_wav", "synthesize"]
