#!/usr/bin/env python3
"""Checks the machinery of docs_pipelines on made-up documents (meson test
docs_extract): continuation lines joined and env assignments kept, the
documented ERROR output attached to its command, a fenced gst-launch line
that is not a command and an unclassifiable command rejected, the
substitutions exactly (decoding chains, uncountable outputs refused), the
plan (both orders for the main pair, fallback bins again with RTMFP
unreachable, codecs and peer-to-peer matched, a publisher nobody documents
a player for is a problem), the msgid of a translated message, and the
audio analysis on a synthetic sine.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import array
import math
import os
import sys
import struct
import tempfile
import wave
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import docs_extract as ex  # noqa: E402
import docs_media  # noqa: E402
import docs_po  # noqa: E402
import docs_substitute as sub  # noqa: E402

spec = __import__("importlib.util").util.spec_from_file_location(
    "docs_pipelines", os.path.join(HERE, "test-docs-pipelines.py"))
pipelines = __import__("importlib.util").util.module_from_spec(spec)
spec.loader.exec_module(pipelines)

PUBLISHER = r"""gst-launch-1.0 -e \
  v4l2src device=/dev/video0 ! videoconvert ! x264enc ! h264parse ! s.video \
  pulsesrc ! audioconvert ! speexenc ! s.audio \
  rtmfpsink name=s location=rtmfp://example.com/live/alice"""
PLAYER = r"""gst-launch-1.0 rtmfpsrc name=s location=rtmfp://example.com/live/alice \
  s.video ! queue ! h264parse ! avdec_h264 ! videoconvert ! autovideosink \
  s.audio ! queue ! speexdec ! audioconvert ! autoaudiosink"""
ERROR_CMD = """LANGUAGE=ko LANG=ko_KR.UTF-8 gst-launch-1.0 rtmfpsrc location=rtmfp://127.0.0.1:9/live/x timeout=2 ! fakesink
# ERROR: from element /GstPipeline:pipeline0/GstRtmfpSrc:rtmfpsrc0: oops"""


def doc(*blocks, prose="Some text.\n"):
    return prose + "".join("```sh\n%s\n```\n%s" % (b, prose) for b in blocks)


class Extract(unittest.TestCase):
    def extract(self, text):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.md"), "w") as f:
                f.write(text)
            return ex.extract_commands(d, ["x.md"])

    def test_continuations_env_and_expected_output(self):
        cmds = self.extract(doc(PUBLISHER + "\n" + PLAYER, ERROR_CMD,
                                "rtmfp-server --rtmfp 0.0.0.0:1935"))
        self.assertEqual(len(cmds), 3)
        pub, player, err = cmds
        self.assertEqual(pub.line, 3)
        self.assertEqual(pub.options, ["-e"])
        self.assertIn("pulsesrc", pub.pipeline)
        self.assertEqual(err.env, [("LANGUAGE", "ko"), ("LANG", "ko_KR.UTF-8")])
        self.assertEqual(err.expected, [
            "ERROR: from element /GstPipeline:pipeline0/GstRtmfpSrc:rtmfpsrc0: oops"])
        for c in cmds:
            ex.classify(c)
        self.assertEqual([c.kind for c in cmds],
                         ["publisher", "player", "expected-error"])
        self.assertEqual((pub.video, pub.audio, pub.direct), ("h264", "speex", False))
        self.assertEqual((player.video, player.audio), ("h264", "speex"))
        self.assertEqual(player.stream_path(), "live/alice")

    def test_comment_after_blank_line_is_not_output(self):
        cmds = self.extract(doc(PLAYER + "\n\n# ERROR: from element x: y"))
        self.assertEqual(cmds[0].expected, [])

    def test_labels_are_not_output(self):
        cmds = self.extract(doc(PLAYER + "\n# publisher (started later)\n"
                                "# ERROR: not its output either\n" + PUBLISHER))
        self.assertEqual([c.expected for c in cmds], [[], []])

    def test_other_mentions_of_gst_launch_fail(self):
        for line in ("sudo gst-launch-1.0 videotestsrc ! fakesink",
                     "$ gst-launch-1.0 videotestsrc ! fakesink",
                     "echo gst-launch-1.0"):
            with self.assertRaises(ex.ExtractError, msg=line):
                self.extract(doc(line))

    def test_unclosed_fence_fails(self):
        with self.assertRaises(ex.ExtractError):
            self.extract("```sh\n" + PLAYER + "\n")

    def test_unclassifiable_commands_fail(self):
        for line in ("gst-launch-1.0 videotestsrc ! autovideosink",
                     "gst-launch-1.0 --gst-debug=3 rtmfpsrc location=rtmfp://a/b/c ! fakesink",
                     "gst-launch-1.0 rtmfpsrc location=rtmfp://a/b... ! fakesink",
                     "gst-launch-1.0 rtmfpsrc location=rtmfp://a/b/c [OPTS] ! fakesink",
                     "gst-launch-1.0 rtmfpsrc name=s location=rtmfp://a/b/c s.audio ! fakesink",
                     "gst-launch-1.0 rtmfpsrc location=rtmfp://a/b/c ! fakesink\n"
                     "# Got message #1 from element",
                     "gst-launch-1.0 rtmfpsrc location=rtmfp://a/b/c ! mysterydec ! fakesink"):
            cmd = self.extract(doc(line))[0]
            with self.assertRaises(ex.ClassifyError, msg=line):
                ex.classify(cmd)

    def test_elided_usage_pattern(self):
        cmd = self.extract(doc("GST_DEBUG=rtmfp*:5 gst-launch-1.0 ..."))[0]
        self.assertEqual(ex.classify(cmd).kind, "elided")
        cmd = self.extract(doc("gst-launch-1.0 ... ! rtmfpsink location=rtmfp://h/a/b \\\n"
                               "    server-fingerprint=00ff"))[0]
        self.assertEqual(ex.classify(cmd).kind, "elided")
        self.assertEqual([(e.factory, e.props) for e in cmd.elements],
                         [("rtmfpsink", {"location": "rtmfp://h/a/b",
                                         "server-fingerprint": "00ff"})])

    def test_template_with_trailing_option_and_redirect(self):
        cmd = ex.classify(self.extract(doc(
            "gst-launch-1.0 rtmfpsrc location=rtmfp://127.0.0.1:PORT/live/NAME timeout=10 "
            "[PROPS] \\\n  ! flvdemux name=d d.video ! fakesink silent=false -v > play.log"))[0])
        self.assertEqual((cmd.kind, cmd.template, cmd.video, cmd.audio),
                         ("player", True, "*", None))
        self.assertEqual(cmd.options, ["-v"])
        self.assertEqual(cmd.redirects, ["> play.log"])
        pub = ex.classify(self.extract(doc(
            "gst-launch-1.0 -e videotestsrc num-buffers=30 is-live=true ! x264enc ! "
            "h264parse ! flvmux streamable=true ! rtmfpsink "
            "location=rtmfp://127.0.0.1:PORT/live/NAME [PROPS]"))[0])
        self.assertEqual((pub.kind, pub.template, pub.frames), ("publisher", True, 30))


class Substitute(unittest.TestCase):
    def command(self, text):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.md"), "w") as f:
                f.write(doc(text))
            return ex.classify(ex.extract_commands(d, ["x.md"])[0])

    def test_publisher(self):
        run = sub.prepare(self.command(PUBLISHER), 4242, "/run", "t")
        self.assertEqual(run.argv, [
            "gst-launch-1.0", "-e", "-m",
            "videotestsrc", "is-live=true", "!", "videoconvert", "!", "x264enc",
            "!", "h264parse", "!", "s.video",
            "audiotestsrc", "is-live=true", "!", "audioconvert", "!", "speexenc",
            "!", "s.audio",
            "rtmfpsink", "name=s", "location=rtmfp://127.0.0.1:4242/live/alice"])

    def test_player(self):
        run = sub.prepare(self.command(PLAYER), 4242, "/run", "t")
        self.assertEqual(run.argv[:3], ["gst-launch-1.0", "-m", "-v"])
        self.assertIn("name=" + sub.VIDEO_OUT, run.argv)
        self.assertIn("location=/run/t-audio.wav", run.argv)
        i = run.argv.index("name=" + sub.AUDIO_OUT)
        self.assertEqual(run.argv[i - 1:i + 3], ["wavenc", "name=" + sub.AUDIO_OUT,
                                                 "!", "filesink"])
        self.assertNotIn("autovideosink", run.argv)
        self.assertEqual(run.audio_out, "/run/t-audio.wav")

    def test_peer_id(self):
        cmd = self.command("gst-launch-1.0 rtmfpsrc location=rtmfp://example.org:1935/live/a "
                           "peer-id=0123...cdef ! flvdemux name=d d.video ! avdec_h264 ! "
                           "autovideosink")
        self.assertTrue(cmd.direct)
        with self.assertRaises(sub.SubstituteError):
            sub.prepare(cmd, 1, "/run", "t")
        run = sub.prepare(cmd, 7, "/run", "t", "ab" * 32)
        self.assertIn("peer-id=" + "ab" * 32, run.argv)
        self.assertIn("location=rtmfp://127.0.0.1:7/live/a", run.argv)
        auto = self.command("gst-launch-1.0 rtmfpsrc location=rtmfp://example.com/live/a "
                            "peer-id=auto ! flvdemux name=d d.video ! avdec_h264 ! fakesink")
        self.assertIn("peer-id=auto", sub.prepare(auto, 7, "/run", "t").argv)

    def test_decoding_chains(self):
        cmd = self.command("gst-launch-1.0 -m rtmfpsrc name=s location=rtmfp://example.com/l/a "
                           "stats-interval=1000 s.video ! queue ! h264parse ! avdec_h264 ! fakesink")
        run = sub.prepare(cmd, 7, "/run", "t")
        self.assertEqual(run.argv[-3:], ["fakesink", "silent=false",
                                         "name=" + sub.VIDEO_OUT])
        self.assertEqual(run.argv[:3], ["gst-launch-1.0", "-m", "-v"])
        # a fakesink that ends no decoding chain stays as documented
        err = self.command(ERROR_CMD)
        self.assertEqual(sub.prepare(err, 7, "/run", "t", add_messages=False).argv,
                         ["gst-launch-1.0"] + err.pipeline)
        # decoded output the test cannot count
        for line in ("gst-launch-1.0 rtmfpsrc location=rtmfp://a/b/c ! flvdemux name=d "
                     "d.video ! avdec_h264 ! xvimagesink",
                     "gst-launch-1.0 rtmfpsrc name=s location=rtmfp://a/b/c s.video ! "
                     "avdec_h264 ! fakesink name=mine",
                     "gst-launch-1.0 rtmfpsrc name=s location=rtmfp://a/b/c s.audio ! "
                     "speexdec ! fakesink"):
            with self.assertRaises(sub.SubstituteError, msg=line):
                sub.prepare(self.command(line), 7, "/run", "t")

    def test_other_hosts_kept(self):
        cmd = self.command("gst-launch-1.0 rtmfpsrc location=rtmfp://10.0.0.1/live/a ! "
                           "flvdemux ! avdec_h264 ! fakesink")
        self.assertIn("location=rtmfp://10.0.0.1/live/a", sub.prepare(cmd, 7, "/r", "t").argv)

    def test_plan(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.md"), "w") as f:
                f.write(doc(PUBLISHER, PLAYER,
                            PUBLISHER.replace("live/alice", "live/bob")))
            cmds = [ex.classify(c) for c in ex.extract_commands(d, ["x.md"])]
        pairs, problems = pipelines.plan_pairs(cmds)
        self.assertEqual([(x.pub, x.player, x.order, x.unreachable) for x in pairs],
                         [(cmds[0], cmds[1], "player", None),
                          (cmds[0], cmds[1], "publisher", None)])
        self.assertEqual(len(problems), 1)
        self.assertIn("no documented player", problems[0])


class Plan(unittest.TestCase):
    def commands(self, *blocks):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "x.md"), "w") as f:
                f.write(doc(*blocks))
            return [ex.classify(c) for c in ex.extract_commands(d, ["x.md"])]

    def test_fallback_bins_run_again_unreachable(self):
        auto = PUBLISHER.replace("rtmfpsink", "rtmfpautosink")
        pub, player = self.commands(auto, PLAYER)
        scenarios, problems = pipelines.plan_pairs([pub, player])
        self.assertEqual(problems, [])
        self.assertEqual([(x.order, x.unreachable) for x in scenarios],
                         [("player", None), ("publisher", None), ("publisher", pub)])
        self.assertTrue(pipelines.documented_to_end(scenarios[2]))

    def test_autosrc_over_rtmp_is_not_documented_to_end(self):
        pub, player = self.commands(PUBLISHER, PLAYER.replace("rtmfpsrc", "rtmfpautosrc"))
        scenarios, _ = pipelines.plan_pairs([pub, player])
        self.assertIs(scenarios[-1].unreachable, player)
        self.assertFalse(pipelines.documented_to_end(scenarios[-1]))

    def test_codecs_and_paths_must_match(self):
        aac_player = PLAYER.replace("speexdec", "avdec_aac")
        direct = PUBLISHER.replace("rtmfpsink name=s", "rtmfpsink name=s mode=direct")
        cmds = self.commands(PUBLISHER, aac_player, direct)
        _, problems = pipelines.plan_pairs(cmds)
        self.assertEqual(len(problems), 3, problems)

    def test_counted_publisher_only_after_its_player(self):
        pub = ("gst-launch-1.0 -e videotestsrc num-buffers=30 is-live=true ! x264enc ! "
               "h264parse ! flvmux streamable=true ! rtmfpsink "
               "location=rtmfp://127.0.0.1:PORT/live/NAME [PROPS]")
        player = ("gst-launch-1.0 rtmfpsrc location=rtmfp://127.0.0.1:PORT/live/NAME "
                  "[PROPS] ! flvdemux name=d d.video ! fakesink silent=false -v")
        scenarios, problems = pipelines.plan_pairs(self.commands(player, pub))
        self.assertEqual(problems, [])
        self.assertEqual([x.order for x in scenarios], ["player"])

    def test_placeholder_peer_needs_the_publisher_first(self):
        direct = PUBLISHER.replace("rtmfpsink name=s", "rtmfpsink name=s mode=direct")
        player = PLAYER.replace("rtmfpsrc name=s", "rtmfpsrc name=s peer-id=0123...cdef")
        scenarios, problems = pipelines.plan_pairs(self.commands(direct, player))
        self.assertEqual(problems, [])
        self.assertEqual([x.order for x in scenarios], ["publisher"])


class Po(unittest.TestCase):
    def test_english_of(self):
        with tempfile.NamedTemporaryFile("w", suffix=".po", delete=False) as f:
            f.write('msgid ""\nmsgstr "Content-Type: text/plain\\n"\n\n'
                    '#, c-format\nmsgid "Could not connect to \\"%s\\" port %u."\n'
                    'msgstr ""\n"\\"%1$s\\" (%2$u) NO"\n\n'
                    '#, fuzzy\nmsgid "Old %s."\nmsgstr "OLD %s."\n')
        try:
            self.assertEqual(docs_po.english_of('"h" (9) NO', f.name),
                             'Could not connect to "h" port 9.')
            self.assertIsNone(docs_po.english_of("OLD x.", f.name))
        finally:
            os.unlink(f.name)

    def test_repository_catalog(self):
        po = os.path.join(HERE, "..", "..", "po", "ko.po")
        self.assertGreater(len(docs_po.parse_po(po)), 0)


class Media(unittest.TestCase):
    def test_sine_and_silence(self):
        rate = 16000
        a = array.array("h", [int(26000 * math.sin(2 * math.pi * 440 * i / rate))
                              for i in range(rate)] + [0] * rate)
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(a.tobytes())
        try:
            r = docs_media.analyse_audio(f.name, {"format": "S16LE", "rate": "16000",
                                                  "channels": "1"})
        finally:
            os.unlink(f.name)
        self.assertAlmostEqual(r["seconds"], 2.0)
        self.assertAlmostEqual(r["sine_seconds"], 1.0, delta=0.06)
        self.assertAlmostEqual(r["median_hz"], 440, delta=15)

    def test_wav_header(self):
        """wavenc's files: S16LE with the final size (after EOS), and F32LE
        with the placeholder size of a stream that did not end"""
        rate = 16000
        pcm = array.array("h", [int(26000 * math.sin(2 * math.pi * 440 * i / rate))
                                for i in range(rate)])
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "a.wav")
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(pcm.tobytes())
            with open(path, "ab") as f:     # a trailing chunk is no audio
                f.write(b"LIST\x04\x00\x00\x00INFO")
            info = docs_media.wav_info(path)
            self.assertEqual((info["format"], info["rate"], info["channels"],
                              info["offset"], info["size"]),
                             ("S16LE", "16000", "1", 44, 2 * rate))
            r = docs_media.analyse_audio(path, info)
            self.assertAlmostEqual(r["seconds"], 1.0)
            self.assertAlmostEqual(r["median_hz"], 440, delta=15)

            mono = [0.8 * math.sin(2 * math.pi * 440 * i / 44100)
                    for i in range(4410)]
            fl = array.array("f", [x for x in mono for _ in range(2)])  # stereo
            hdr = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 0x7FFF0000, b"WAVE",
                              b"fmt ", 16, 3, 2, 44100, 44100 * 8, 8, 32,
                              b"data", 0x7FFF0000)
            with open(path, "wb") as f:
                f.write(hdr + fl.tobytes())
            info = docs_media.wav_info(path)
            self.assertEqual((info["format"], info["rate"], info["channels"],
                              info["size"]), ("F32LE", "44100", "2", 4410 * 8))
            self.assertAlmostEqual(docs_media.analyse_audio(path, info)["seconds"],
                                   0.1)
            with open(path, "wb") as f:     # header not written yet
                f.write(hdr[:20])
            self.assertIsNone(docs_media.wav_info(path))
            self.assertIsNone(docs_media.wav_info(os.path.join(d, "none.wav")))

    def test_counts_chain_lines_of_its_sink_only(self):
        pred = docs_media.chain_line("docs_video_out")
        self.assertTrue(pred("/GstPipeline:pipeline0/GstFakeSink:docs_video_out: "
                             "last-message = chain   ******* (x) (1 bytes)"))
        self.assertFalse(pred("/GstPipeline:pipeline0/GstFakeSink:docs_video_out: "
                              "last-message = event   ******* E (type: eos"))
        self.assertFalse(pred('Got message #9 from element "docs_video_out" '
                              '(property-notify): last-message = chain'))


if __name__ == "__main__":
    unittest.main(verbosity=2)
