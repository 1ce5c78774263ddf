"""The `avatar` command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from pipeline.config import (
    ASPECT_SIZES_PX,
    DEFAULT_ASPECT,
    DEFAULT_FPS,
    MOUTH_DRIVERS,
    PRESETS,
    STYLES,
    CaptionConfig,
    MotionConfig,
    RenderConfig,
    VideoConfig,
)
from pipeline.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, InputError


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatar",
        description="Turn a script and one selfie into a captioned talking video, offline.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("render", help="render a talking video")
    r.add_argument("script", nargs="?", help="text file with the words to speak")
    r.add_argument("--text", help="the words to speak, instead of a script file")
    r.add_argument("--audio", help="your own narration recording (wav, flac, mp3, ...) instead of TTS;"
                   " a script, if given, is its transcript")
    r.add_argument("--photo", required=True, help="a photo of one face, looking at the camera")
    r.add_argument("--out", required=True, help="output video, .mp4 (.srt and .vtt are written beside it)")
    r.add_argument("--voice", default="joe", help="voice profile name or file (see `avatar voices list`)")
    r.add_argument("--lexicon", default=None, help="YAML file of `word: how to say it` lines, on top of "
                   "the voice's own lexicon")
    r.add_argument("--duration", type=float, default=None,
                   help="seconds of a clip without speech (no script or audio): idle motion, or with "
                   "--loop a seamless loop")
    r.add_argument("--aspect", default=DEFAULT_ASPECT, choices=list(ASPECT_SIZES_PX))
    r.add_argument("--fps", type=float, default=DEFAULT_FPS)
    r.add_argument("--seed", type=int, default=0, help="seed for blinks and head motion")
    r.add_argument("--style", default="natural", choices=STYLES)
    r.add_argument("--motion-scale", type=float, default=1.0,
                   help="head, brow and gaze motion, 0 (still head; blinks stay) to 3; 1 is natural")
    r.add_argument("--loop", action="store_true",
                   help="a seamlessly looping clip (profile pictures, banners): the last frame flows "
                        "into the first")
    r.add_argument("--mouth", default="rules", choices=MOUTH_DRIVERS)
    r.add_argument("--face", type=int, default=None,
                   help="which face to animate when the photo has several (0 = largest)")
    r.add_argument("--preset", default="default", choices=list(PRESETS),
                   help="encoding preset: draft (fast), default, quality")
    r.add_argument("--no-captions", action="store_true", help="do not burn captions into the video")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--resume", action="store_true",
                   help="continue an interrupted render of the same inputs and settings from its "
                   "finished chunks")

    c = sub.add_parser("check", help="check whether a photo can be animated, and why not")
    c.add_argument("photo")
    c.add_argument("--face", type=int, default=None)

    b = sub.add_parser("batch", help="render every item of a course manifest (.yaml or .csv)")
    b.add_argument("manifest", help="course .yaml or .csv: items with script/text/audio, shared defaults")
    b.add_argument("--out-dir", required=True, help="folder for the videos and batch_report.json")
    b.add_argument("--executor", default="local", choices=["local", "ray"])
    b.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS or a "
                   "local Ray instance)")
    b.add_argument("--jobs", type=int, default=1, help="local executor: items rendered at once")
    b.add_argument("--photo", help="photo for items and defaults that name none")
    b.add_argument("--voice", help="voice when the manifest names none")
    b.add_argument("--aspect", choices=list(ASPECT_SIZES_PX), help="aspect when the manifest names none")
    b.add_argument("--fps", type=float, help="frame rate when the manifest names none")
    b.add_argument("--preset", choices=list(PRESETS), help="preset when the manifest names none")

    v = sub.add_parser("voices", help="list, show or try the voices",
                       description="avatar voices [list] | show NAME | say NAME \"text\" [--out x.wav] | "
                       "clone NAME sample.wav [more.wav ...] [--base joe]")
    v.add_argument("action", choices=["list", "show", "say", "clone"], nargs="?", default="list")
    v.add_argument("name", nargs="?", help="voice profile name or file (show, say); new voice name (clone)")
    v.add_argument("args", nargs="*", metavar="TEXT|SAMPLE",
                   help="say: the words, script markup allowed; clone: recordings of the speaker (10 s+)")
    v.add_argument("--out", default=None, help="say: the .wav to write (default NAME.wav)")
    v.add_argument("--base", default="joe", help="clone: the Piper voice to convert (default joe)")

    s = sub.add_parser("studio", help="open the local web studio (everything above, in a browser page)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                   "computer only)")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--out-dir", default="studio-out", help="folder for uploads and rendered videos")
    s.add_argument("--open", action="store_true", help="open the page in the default browser")
    s.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other than this computer: anyone who can reach it can render")
    return parser


def _config_from_args(args: argparse.Namespace) -> RenderConfig:
    base = PRESETS[args.preset]
    return RenderConfig(
        voice=args.voice,
        face_index=args.face,
        mouth=args.mouth,
        video=VideoConfig(aspect=args.aspect, fps=args.fps, crf=base.video.crf,
                          preset=base.video.preset),
        captions=CaptionConfig(enabled=not args.no_captions),
        motion=MotionConfig(style=args.style, seed=args.seed,
                            scale=args.motion_scale, loop=args.loop),
        lexicon=args.lexicon,
        duration_s=args.duration,
        quiet=args.quiet,
    )


def _cmd_render(args: argparse.Namespace) -> int:
    from pipeline.api import read_script, render
    from pipeline.progress import Progress

    if args.script and args.text:
        raise InputError("Give either a script file or --text, not both.")
    script = args.text if args.text is not None else (read_script(args.script) if args.script else None)
    if args.duration is not None and (script is not None or args.audio is not None):
        raise InputError("--duration is for clips without speech; the script or audio sets the length "
                         "otherwise. Drop --duration, or drop the script/--text/--audio.")
    if script is None and args.audio is None and args.duration is None:
        raise InputError(
            "Nothing to say. Give a script file (avatar render script.txt ...), "
            "--text \"...\", or --audio narration.wav."
        )
    config = _config_from_args(args)
    result = render(args.photo, args.out, script=script, audio=args.audio, config=config,
                    progress=Progress(quiet=args.quiet), resume=args.resume)
    if not args.quiet:
        extra = ""
        if result.srt_path:
            extra = f" (+ {result.srt_path.name}, {result.vtt_path.name})"
        print(f"wrote {result.video_path}{extra}: {result.duration_s:.1f} s, "
              f"{result.n_frames} frames at {result.fps:g} fps")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from pipeline.face import check, format_report

    report = check(args.photo, face_index=args.face)
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def _cmd_batch(args: argparse.Namespace) -> int:
    from pipeline.batch import run_batch

    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs} must be 1 or more.")
    defaults = {k: getattr(args, k) for k in ("photo", "voice", "aspect", "fps", "preset")
                if getattr(args, k) is not None}
    # Paths typed on the command line are relative to where the user is, not to the manifest.
    if "photo" in defaults:
        defaults["photo"] = str(Path(defaults["photo"]).resolve())
    if defaults.get("voice", "").endswith((".yaml", ".yml")):
        defaults["voice"] = str(Path(defaults["voice"]).resolve())
    try:
        report = run_batch(args.manifest, args.out_dir, executor=args.executor, address=args.address,
                           jobs=args.jobs, defaults=defaults)
    except KeyboardInterrupt:
        print("interrupted: finished videos are kept; run the same command again to render the rest.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return report.exit_code


def _cmd_voices(args: argparse.Namespace) -> int:
    from pipeline.speech import list_voices

    if args.action == "list":
        for profile in list_voices():
            print(f"{profile.name:<12} {profile.engine:<6} {profile.description}")
        return EXIT_OK
    if not args.name:
        raise InputError(f"Name the voice: avatar voices {args.action} NAME (see `avatar voices list`).")
    if args.action == "show":
        from pipeline.speech.voices import describe_voice

        print(describe_voice(args.name))
        return EXIT_OK
    if args.action == "clone":
        from pipeline.speech.voices import clone_voice

        path = clone_voice(args.name, args.args, base=args.base)
        print(f"wrote {path}: use it with --voice {args.name}")
        return EXIT_OK
    if not args.args:
        raise InputError(f'Give the words to say: avatar voices say {args.name} "Hello there." [--out x.wav]')
    from pipeline.speech.voices import say

    out = Path(args.out) if args.out else Path(f"{Path(args.name).stem}.wav")
    speech = say(args.name, " ".join(args.args), out)
    print(f"wrote {out}: {speech.duration_s:.1f} s")
    return EXIT_OK


def _cmd_studio(args: argparse.Namespace) -> int:
    from pipeline.studio.app import is_loopback, serve

    if not is_loopback(args.host):
        if not args.allow_remote:
            raise InputError(
                f"--host {args.host} would let other computers on the network upload files and run "
                "renders. Leave --host at 127.0.0.1, or add --allow-remote if that is really meant."
            )
        print(f"warning: the studio listens on {args.host}; anyone who can reach this address can "
              "upload files and run renders.", file=sys.stderr)
    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is not a port number. Use 1024-65535, e.g. --port 7860.")
    try:
        serve(Path(args.out_dir), host=args.host, port=args.port, open_browser=args.open,
              allow_remote=args.allow_remote)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


class _UserFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _raise_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    # Photo warnings and the like reach the user as "warning: ..." lines, before the slow work.
    handler = logging.StreamHandler()
    handler.setFormatter(_UserFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    # A kill (SIGTERM) cleans up like Ctrl-C: no half-written output either way.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    commands = {"render": _cmd_render, "check": _cmd_check, "voices": _cmd_voices,
                "batch": _cmd_batch, "studio": _cmd_studio}
    try:
        return commands[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: stopped, and no output was written.", file=sys.stderr)
        if args.command == "render":
            print("Finished chunks, if any, are kept in a hidden .avatar-* folder beside the output: "
                  "run the same command with --resume to continue from them.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug, not a problem with your input. Re-run with --debug for details "
              "and report it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
