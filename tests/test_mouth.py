import numpy as np
import pytest

from pipeline import mouth
from pipeline.mouth import targets
from pipeline.mouth.rules import constrained_frames
from pipeline.types import ARTICULATION, PHONES, Phone

FPS = 30.0


def phones_from(spec: list[tuple[str, float]], start_s: float = 0.0) -> list[Phone]:
    out, t = [], start_s
    for label, length_s in spec:
        out.append(Phone(label, t, t + length_s))
        t += length_s
    return out


# "Bob met Pam", with the durations a TTS gives, and a long pause at the end.
BOB_MET_PAM = phones_from([
    ("SIL", 0.30), ("B", 0.07), ("AA", 0.15), ("B", 0.08), ("SIL", 0.12),
    ("M", 0.08), ("EH", 0.11), ("T", 0.07), ("SIL", 0.15),
    ("P", 0.09), ("AE", 0.17), ("M", 0.10), ("SIL", 1.0),
])
DURATION_S = BOB_MET_PAM[-1].end_s


def frames_in_middle_half(phone: Phone, fps: float = FPS) -> np.ndarray:
    quarter = 0.25 * phone.duration_s
    centres = (np.arange(int(DURATION_S * fps) + 2) + 0.5) / fps
    return np.flatnonzero((centres >= phone.start_s + quarter) & (centres < phone.end_s - quarter))


@pytest.fixture(scope="module")
def bob():
    return mouth.track(BOB_MET_PAM, DURATION_S, FPS)


def test_table_covers_every_phone():
    assert set(targets.TABLE) == set(PHONES)
    for parts in targets.TABLE.values():
        for target, dominance in parts:
            assert target.shape == dominance.shape == (len(ARTICULATION),)
            assert np.all((target >= 0) & (target <= 1)) and np.all(dominance > 0)
    assert targets.normalize_label("ah1") == "AH"
    assert targets.normalize_label("sp") == "SIL"


def test_shape_range_and_frame_rule(bob):
    assert bob.values.shape == (int(round(DURATION_S * FPS)), len(ARTICULATION))
    assert bob.values.dtype == np.float32
    assert bob.values.min() >= 0.0 and bob.values.max() <= 1.0
    assert len(mouth.track(BOB_MET_PAM, 1.01, 25.0)) == 25
    assert len(mouth.track([], 0.0, FPS)) == 0


def test_bilabials_close(bob):
    opening = mouth.mouth_opening(bob)
    press = bob.param("lip_press")
    bilabials = [p for p in BOB_MET_PAM if p.label in ("B", "M", "P")]
    assert len(bilabials) == 5
    for phone in bilabials:
        frames = frames_in_middle_half(phone)
        assert len(frames) >= 1, phone
        assert np.all(press[frames] >= 0.9), (phone, press[frames])
        assert np.all(opening[frames] <= 0.02), (phone, opening[frames])
        assert np.all(bob.param("lip_open")[frames] <= 0.02)
        assert np.all(bob.param("jaw_open")[frames] <= 0.05)


def test_vowels_open_between_closures(bob):
    opening = mouth.mouth_opening(bob)
    for phone in BOB_MET_PAM:
        if phone.label in ("AA", "AE", "EH"):
            frames = frames_in_middle_half(phone)
            assert opening[frames].max() > 0.25, phone
            assert bob.param("lip_press")[frames].max() < 0.5, phone


def test_open_vowels_open_wider_than_close_ones():
    def peak_opening(vowel: str) -> float:
        phones = phones_from([("SIL", 0.3), ("HH", 0.06), (vowel, 0.18), ("D", 0.07), ("SIL", 0.5)])
        return float(mouth.mouth_opening(mouth.track(phones, 1.11, FPS)).max())

    assert peak_opening("AA") > 1.5 * peak_opening("IY")
    assert peak_opening("AE") > peak_opening("IH")
    # and the shapes differ the right way: IY spreads, UW rounds
    def peak(vowel: str, name: str) -> float:
        phones = phones_from([("SIL", 0.3), (vowel, 0.2), ("SIL", 0.5)])
        return float(mouth.track(phones, 1.0, FPS).param(name).max())

    assert peak("IY", "lip_width") > 0.6 > peak("UW", "lip_width")
    assert peak("UW", "lip_round") > 0.6 > peak("IY", "lip_round")
    assert peak("F", "lower_lip_tuck") >= 0.85
    assert peak("TH", "tongue_show") > 0.5


def test_long_silence_relaxes_to_rest(bob):
    pause = BOB_MET_PAM[-1]
    centres = (np.arange(len(bob)) + 0.5) / FPS
    relaxed = centres >= pause.start_s + 0.25
    assert relaxed.sum() > 10
    assert np.abs(bob.values[relaxed]).max() < 0.02
    # the leading silence is rest too, until the lips get ready for the first B
    assert np.abs(bob.values[centres < 0.15]).max() < 0.05


def test_short_pause_holds_the_shape():
    # "see ... see": a 150 ms pause keeps the spread lips; a 1 s pause lets them go
    def width_in_pause(pause_s: float) -> float:
        phones = phones_from([("SIL", 0.3), ("S", 0.1), ("IY", 0.2), ("SIL", pause_s),
                              ("S", 0.1), ("IY", 0.2), ("SIL", 0.5)])
        track = mouth.track(phones, phones[-1].end_s, FPS)
        centre = int((0.6 + 0.5 * pause_s) * FPS)
        return float(track.param("lip_width")[centre])

    assert width_in_pause(0.15) > 0.5
    assert width_in_pause(1.0) < 0.05


def test_lips_anticipate_the_next_phone():
    # rounding for W starts before the W does
    phones = phones_from([("SIL", 0.3), ("AH", 0.2), ("W", 0.08), ("IY", 0.2), ("SIL", 0.4)])
    track = mouth.track(phones, 1.18, FPS)
    w_start_frame = int(0.5 * FPS)
    assert track.param("lip_round")[w_start_frame - 2] > 0.1     # ~67 ms early


@pytest.mark.parametrize("closure_start_s", [0.300, 0.318, 0.3333])
def test_closure_shorter_than_a_frame_still_closes_one_frame(closure_start_s):
    phones = phones_from([("SIL", 0.1), ("AA", closure_start_s - 0.1), ("B", 0.025),
                          ("AA", 0.2), ("SIL", 0.3)])
    duration_s = phones[-1].end_s
    track = mouth.track(phones, duration_s, FPS)
    opening = mouth.mouth_opening(track)
    closed = np.flatnonzero((track.param("lip_press") >= 0.9) & (opening <= 0.01))
    assert len(closed) >= 1
    b = phones[2]
    # the closed frame is the one nearest the closure
    assert np.all(np.abs((closed + 0.5) / FPS - 0.5 * (b.start_s + b.end_s)) <= 0.5 / FPS + 0.0125)
    # and the vowels either side open
    assert opening[: closed[0]].max() > 0.3 and opening[closed[-1] + 1:].max() > 0.3


def test_constrained_frames_rule():
    # frame centres at 30 fps: 0.0167, 0.05, 0.0833, ...
    assert list(constrained_frames(0.04, 0.09, FPS, 10)) == [1, 2]
    assert list(constrained_frames(0.051, 0.07, FPS, 10)) == [1]      # none inside: nearest
    assert list(constrained_frames(0.0, 1.0, FPS, 10)) == list(range(10))


def test_unsorted_unknown_and_out_of_range_phones():
    phones = [Phone("AA1", 0.4, 0.6), Phone("b", 0.3, 0.4), Phone("XX", 0.6, 0.7),
              Phone("M", 0.95, 1.3)]
    track = mouth.track(phones, 1.0, FPS)
    assert track.values.shape == (30, len(ARTICULATION))
    assert track.param("lip_press")[int(0.35 * FPS)] >= 0.9
    assert track.param("lip_press")[-1] >= 0.9      # the M runs past the end: still closed


def test_envelope_baseline_follows_loudness():
    sample_rate_hz = 16000
    t = np.arange(int(2.0 * sample_rate_hz)) / sample_rate_hz
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * ((t > 0.5) & (t < 1.2))).astype(np.float32)
    track = mouth.from_envelope(audio, sample_rate_hz, 2.0, FPS)
    assert track.values.shape == (60, len(ARTICULATION))
    opening = mouth.mouth_opening(track)
    assert opening[int(0.3 * FPS)] == 0.0
    assert opening[int(0.9 * FPS)] > 0.5
    assert opening[int(1.8 * FPS)] < 0.05
    assert track.values.min() >= 0 and track.values.max() <= 1
    silent = mouth.from_envelope(np.zeros(1000, np.float32), sample_rate_hz, 0.5, FPS)
    assert np.all(silent.values == 0)


# A real Piper utterance with its exact phone timing: sibilants, w, r, and a 1 s pause.
PIPER_SCRIPT = "We saw six swans, so she rowed for a while. [pause 1s] Then Bob sang."


@pytest.fixture(scope="module")
def piper():
    from pipeline.speech import load_voice, synthesize
    from pipeline.text import prepare_script

    speech = synthesize(prepare_script(PIPER_SCRIPT), load_voice("joe"))
    return speech, mouth.track(speech.phones, speech.duration_s, FPS)


def relative_openings(speech, track, labels: tuple[str, ...]) -> list[float]:
    """Mean opening over the middle half of each phone with one of labels, over the speech mean."""
    opening = mouth.mouth_opening(track)
    centres = (np.arange(len(track)) + 0.5) / FPS
    speaking = np.zeros(len(track), dtype=bool)
    out = []
    for p in speech.phones:
        if p.label != "SIL":
            speaking |= (centres >= p.start_s) & (centres < p.end_s)
    for p in speech.phones:
        if p.label in labels:
            q = 0.25 * p.duration_s
            middle = (centres >= p.start_s + q) & (centres < p.end_s - q)
            if middle.any():
                out.append(float(opening[middle].mean()))
    return [x / float(opening[speaking].mean()) for x in out]


def test_lips_part_before_a_phrase_after_a_breath_pause(piper):
    speech, track = piper
    pause = max((p for p in speech.phones if p.label == "SIL"), key=lambda p: p.duration_s)
    assert pause.duration_s > 0.9 and pause.end_s < speech.duration_s - 0.5
    centres = (np.arange(len(track)) + 0.5) / FPS
    ready = (centres >= pause.end_s - 0.15) & (centres < pause.end_s - 0.08)
    still = (centres >= pause.start_s + 0.2) & (centres < pause.end_s - 0.35)
    opening = mouth.mouth_opening(track)
    # Real speakers part their lips 0.2-0.5 s before speaking again; the rest of the pause is shut.
    assert ready.sum() >= 2 and opening[ready].min() > 0.2
    assert still.sum() >= 10 and opening[still].max() < 0.03
    # Without the preparation the lips stay shut until the first phone's own anticipation.
    unprepared = mouth.mouth_opening(mouth.track(speech.phones, speech.duration_s, FPS,
                                                 prepare_lead_s=0.0))
    assert unprepared[ready].max() < 0.03
    # Only before more speech: the clip's end stays shut, and "Bob" still closes for its b's.
    assert opening[centres > speech.phones[-1].start_s + 0.15].max() < 0.03
    assert max(relative_openings(speech, track, ("B",))) == 0.0


def test_sibilants_keep_the_lips_apart(piper):
    # The tongue makes s, z and sh: the lips stay parted over the closed teeth, as in real faces.
    speech, track = piper
    sibilants = relative_openings(speech, track, ("S", "Z", "SH"))
    assert len(sibilants) >= 8
    assert min(sibilants) > 0.5 and np.mean(sibilants) > 0.6, sibilants


def test_w_narrows_the_lips_between_open_vowels(piper):
    # "a while": w's lip opening wins over the open vowels either side of it
    speech, track = piper
    w = relative_openings(speech, track, ("W",))
    assert len(w) >= 3 and max(w) < 0.7, w


def test_rounding_narrows_the_lip_gap():
    def target(phone: str, name: str) -> float:
        return float(targets.TABLE[phone][0][0][ARTICULATION.index(name)])

    # ao drops the jaw further than ah, but its rounded lips part less; er against ih alike
    assert target("AO", "jaw_open") > target("AH", "jaw_open")
    assert target("AO", "lip_open") < 0.85 * target("AH", "lip_open")
    assert target("ER", "lip_open") < 0.85 * target("IH", "lip_open")
