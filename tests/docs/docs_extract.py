"""The gst-launch-1.0 commands of README.md and docs/*.md, and what each is.

extract_commands() reads the fenced code blocks (``` or ~~~) of the
documents, joins backslash-continued lines, and returns every logical line
that runs gst-launch-1.0 (after optional VAR=value assignments) as a
Command, with the comment lines that follow it in the same block and
look like gst-launch output (its documented output, e.g. "# ERROR: from
element ..."; other comments are labels such as "# publisher").  A fenced line that
mentions gst-launch in any other way (sudo, a prompt, a pipe...) is an
ExtractError: no documented command may be silently ignored.

classify() parses a command's pipeline description into elements and says
what it is (Command.kind):

  publisher       an rtmfpsink / rtmfpautosink / rtmp2sink publishing to a
                  location; its media (video: h264, audio: speex or aac)
  player          an rtmfpsrc / rtmfpautosrc / rtmp2src playing a location;
                  the media its decoding branches need
  expected-error  documented output "# ERROR: ..." right after it
  elided          a fragment: "..." stands for part of the pipeline, e.g.
                  `gst-launch-1.0 ... ! rtmfpsink location=... prop=X`
                  (nothing to run; its elements and properties can be
                  checked to exist)

Templates (docs/interop.md) are publishers or players with placeholders:
PORT in a location (the server's port) and [PROPS] (optional properties:
none).  Options may come anywhere (GOption), shell redirections are
dropped.  A player's media is what its chains decode; a chain from a
"video" pad without a decoder (flvdemux name=d d.video ! fakesink) counts
as video of any codec ("*").

Anything else raises ClassifyError with the reason.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import re
import shlex
from urllib.parse import urlsplit

GST_LAUNCH = "gst-launch-1.0"
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# gst-launch-1.0 options a documented command may use
KNOWN_OPTIONS = {"-e", "--eos-on-shutdown", "-m", "--messages", "-v",
                 "--verbose", "-t", "--tags", "-q", "--quiet", "-f",
                 "--no-fault"}

PUBLISHER_ELEMENTS = {"rtmfpsink", "rtmfpautosink", "rtmp2sink"}
PLAYER_ELEMENTS = {"rtmfpsrc", "rtmfpautosrc", "rtmp2src"}
# what a publisher's encoders send / a player's decoders need
VIDEO_ENCODERS = {"x264enc": "h264", "openh264enc": "h264"}
AUDIO_ENCODERS = {"speexenc": "speex", "avenc_aac": "aac", "fdkaacenc": "aac",
                  "faac": "aac", "voaacenc": "aac"}
VIDEO_DECODERS = {"avdec_h264": "h264", "openh264dec": "h264"}
AUDIO_DECODERS = {"speexdec": "speex", "avdec_aac": "aac", "fdkaacdec": "aac",
                  "faad": "aac"}


class ExtractError(Exception):
    pass


class ClassifyError(Exception):
    pass


class Element:
    """One element of a pipeline description: its factory, its properties
    in order, the index of its first token, and its chain (elements
    linked by "!" one after the other share a chain number)"""

    def __init__(self, factory, index, chain):
        self.factory = factory
        self.props = {}
        self.index = index
        self.chain = chain

    def __repr__(self):
        return "Element(%s %r chain %d)" % (self.factory, self.props, self.chain)


class Command:
    """One documented gst-launch-1.0 command"""

    def __init__(self, source, line, text):
        self.source = source          # "docs/user-guide.md"
        self.line = line              # first line number, 1-based
        self.text = text              # the logical line as documented
        self.expected = []            # comment lines right after it
        self.env = []                 # [(name, value)] assignments
        self.options = []             # gst-launch options
        self.pipeline = []            # the pipeline description's tokens
        self.elements = []
        self.kind = None
        self.location = None          # publisher / player: the URI
        self.video = None             # publisher: sent; player: decoded
        self.audio = None
        self.direct = False           # mode=direct / peer-id set
        self.peer_id = None           # player: documented peer-id value
        self.redirects = []           # "> play.log": dropped
        self.template = False         # PORT, [PROPS] placeholders
        self.frames = None            # publisher: num-buffers of its video

    @property
    def where(self):
        return "%s:%d" % (self.source, self.line)

    def element(self, factory):
        for e in self.elements:
            if e.factory == factory:
                return e
        return None

    def factories(self):
        return {e.factory for e in self.elements}

    def stream_path(self):
        """app[/instance]/stream of the location"""
        return urlsplit(self.location).path.strip("/")

    def __repr__(self):
        return "Command(%s %s)" % (self.where, self.kind)


# ---------------------------------------------------------------------------
# Fenced blocks and logical lines

def fenced_blocks(text):
    """[(first line number, [lines])] of the fenced code blocks of a
    Markdown text"""
    blocks, current, fence, start = [], None, None, 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if current is None:
            m = re.match(r"^(`{3,}|~{3,})", stripped)
            if m:
                fence, current, start = m.group(1), [], number + 1
        elif stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            blocks.append((start, current))
            current = None
        else:
            current.append(line)
    if current is not None:
        raise ExtractError("unclosed code fence opened at line %d" % (start - 1))
    return blocks


def logical_lines(start, lines):
    """[(line number, text)]: backslash continuations joined"""
    out, pending, pending_start = [], None, 0
    for i, line in enumerate(lines):
        number = start + i
        if pending is None:
            pending, pending_start = "", number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((pending_start, pending + line))
        pending = None
    if pending is not None:
        out.append((pending_start, pending))
    return out


def split_command(text):
    """(env assignments, argv) of a shell line, or None when the line does
    not run gst-launch-1.0 directly"""
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as e:
        raise ExtractError("cannot parse as a shell line (%s): %s" % (e, text))
    env = []
    while tokens and ENV_ASSIGNMENT.match(tokens[0]):
        name, value = tokens.pop(0).split("=", 1)
        env.append((name, value))
    if tokens and tokens[0].rsplit("/", 1)[-1] == GST_LAUNCH:
        return env, tokens
    return None


# what gst-launch-1.0 prints: a comment right after a command starting so
# is its documented output
OUTPUT_PREFIXES = ("ERROR:", "WARNING:", "INFO:", "Got message", "Setting pipeline",
                   "Pipeline is", "Execution ended", "New clock", "/GstPipeline")
REDIRECT = re.compile(r"^(\d?>>?|&>)(.*)$")


def split_argv(cmd, argv):
    """gst-launch-1.0's options (GOption takes them anywhere), shell
    redirections (the test reads the output itself) and the pipeline
    description"""
    i = 0
    while i < len(argv):
        tok = argv[i]
        m = REDIRECT.match(tok)
        if m:
            target = m.group(2) or (argv[i + 1] if i + 1 < len(argv) else "")
            cmd.redirects.append(m.group(1) + " " + target)
            i += 1 if m.group(2) else 2
            continue
        if tok.startswith("-"):
            cmd.options.append(tok)
        else:
            cmd.pipeline.append(tok)
        i += 1


def commands_of_block(source, start, lines):
    commands, last = [], None
    for number, text in logical_lines(start, lines):
        stripped = text.strip()
        if stripped.startswith("#"):
            comment = stripped[1:].strip()
            if last is not None and comment.startswith(OUTPUT_PREFIXES):
                last.expected.append(comment)
            else:
                last = None         # a label ("# publisher"), not output
            continue
        last = None
        if "gst-launch" not in stripped:
            continue
        split = split_command(stripped)
        if split is None:
            raise ExtractError("%s:%d: a line that mentions gst-launch but does "
                               "not run %s directly: %s"
                               % (source, number, GST_LAUNCH, stripped))
        cmd = Command(source, number, " ".join(stripped.split()))
        cmd.env, argv = split
        split_argv(cmd, argv[1:])
        commands.append(cmd)
        last = cmd
    return commands


def extract_commands(root, documents):
    """Every gst-launch-1.0 command of the documents (paths relative to
    root), in document order"""
    commands = []
    for doc in documents:
        with open(root + "/" + doc, encoding="utf-8") as f:
            text = f.read()
        try:
            blocks = fenced_blocks(text)
        except ExtractError as e:
            raise ExtractError("%s: %s" % (doc, e))
        for start, lines in blocks:
            commands += commands_of_block(doc, start, lines)
    return commands


# ---------------------------------------------------------------------------
# Pipeline descriptions

CAPS_TOKEN = re.compile(r"^[a-z]+/[A-Za-z0-9.+-]+(,|$)")
PAD_REF = re.compile(r"^[A-Za-z_][\w-]*\.[\w%-]*$")
PROPERTY = re.compile(r"^[a-z][a-z0-9-]*=")
FACTORY = re.compile(r"^[a-z][a-z0-9_-]*$")


def parse_pipeline(tokens):
    """The elements of a pipeline description (caps and pad references are
    skipped, properties attached to their element).  A chain ends where a
    token is not followed by "!"."""
    return parse_chains(tokens)[0]


def parse_chains(tokens):
    """(elements, {chain: the pad reference it starts from, e.g.
    "d.video"})"""
    elements, current, chain, linked, pads = [], None, 0, False, {}
    for i, tok in enumerate(tokens):
        if tok == "!":
            current, linked = None, True
            continue
        starts_chain = not linked and not (PROPERTY.match(tok) and current)
        if starts_chain and i > 0:
            chain += 1
        if PROPERTY.match(tok):
            if current is None:
                raise ClassifyError("property %r belongs to no element" % tok)
            key, value = tok.split("=", 1)
            current.props[key] = value
            continue
        linked = False
        if CAPS_TOKEN.match(tok):
            current = None
        elif PAD_REF.match(tok):
            if starts_chain:
                pads[chain] = tok
            current = None
        elif FACTORY.match(tok):
            current = Element(tok, i, chain)
            elements.append(current)
        else:
            raise ClassifyError("cannot parse pipeline token %r" % tok)
    return elements, pads


def chain_kinds(tokens):
    """{chain: "video" or "audio"}: the chains that decode (or, from a
    video/audio pad, take) a medium"""
    elements, pads = parse_chains(tokens)
    kinds = {}
    for chain, pad in pads.items():
        pad_name = pad.split(".", 1)[1]
        if pad_name in ("video", "audio"):
            kinds[chain] = pad_name
    for e in elements:
        if e.factory in VIDEO_DECODERS:
            kinds[e.chain] = "video"
        elif e.factory in AUDIO_DECODERS:
            kinds[e.chain] = "audio"
    return kinds


def argv_factories(argv):
    """The element factories of a gst-launch-1.0 argv"""
    tokens = list(argv[1:])
    while tokens and tokens[0].startswith("-"):
        tokens.pop(0)
    return [e.factory for e in parse_pipeline(tokens)]


def media_of(factories, table, what):
    found = {table[f] for f in factories if f in table}
    if len(found) > 1:
        raise ClassifyError("more than one %s codec: %s" % (what, sorted(found)))
    return found.pop() if found else None


def classify_publisher(cmd):
    sinks = [e for e in cmd.elements if e.factory in PUBLISHER_ELEMENTS]
    if len(sinks) != 1:
        raise ClassifyError("%d publishing elements" % len(sinks))
    sink = sinks[0]
    cmd.location = sink.props.get("location")
    if not cmd.location:
        raise ClassifyError("%s has no location" % sink.factory)
    cmd.direct = sink.props.get("mode") == "direct"
    names = cmd.factories()
    cmd.video = media_of(names, VIDEO_ENCODERS, "video")
    cmd.audio = media_of(names, AUDIO_ENCODERS, "audio")
    if not cmd.video and not cmd.audio:
        raise ClassifyError("a publisher without a known encoder")
    counted = [e for e in cmd.elements if "num-buffers" in e.props]
    if counted:
        if len(counted) > 1 or counted[0].factory != "videotestsrc" or cmd.audio:
            raise ClassifyError("num-buffers only understood on the video test "
                                "source of a video-only publisher")
        cmd.frames = int(counted[0].props["num-buffers"])
    cmd.kind = "publisher"


def classify_player(cmd):
    srcs = [e for e in cmd.elements if e.factory in PLAYER_ELEMENTS]
    if len(srcs) != 1:
        raise ClassifyError("%d playing elements" % len(srcs))
    src = srcs[0]
    cmd.location = src.props.get("location")
    if not cmd.location:
        raise ClassifyError("%s has no location" % src.factory)
    cmd.peer_id = src.props.get("peer-id")
    cmd.direct = cmd.peer_id is not None
    names = cmd.factories()
    cmd.video = media_of(names, VIDEO_DECODERS, "video")
    cmd.audio = media_of(names, AUDIO_DECODERS, "audio")
    kinds = set(chain_kinds([t for t in cmd.pipeline if t != "[PROPS]"]).values())
    if not cmd.video and "video" in kinds:
        cmd.video = "*"             # taken as it comes, not decoded
    if not cmd.audio and "audio" in kinds:
        raise ClassifyError("an audio branch without a known decoder")
    if not cmd.video and not cmd.audio:
        raise ClassifyError("a player without a known decoder or video branch")
    cmd.kind = "player"


def classify(cmd):
    """Sets cmd.kind (and what goes with it) or raises ClassifyError"""
    unknown = [o for o in cmd.options if o not in KNOWN_OPTIONS]
    if unknown:
        raise ClassifyError("unknown gst-launch-1.0 option(s) %s" % unknown)
    if not cmd.pipeline:
        raise ClassifyError("no pipeline description")
    if "..." in cmd.pipeline:
        if cmd.expected:
            raise ClassifyError("an elided command with documented output")
        cmd.elements = parse_pipeline([t for t in cmd.pipeline if t != "..."])
        cmd.kind = "elided"
        return cmd
    elided = [t for t in cmd.pipeline
              if "..." in t and not t.startswith("peer-id=")]
    if elided:
        raise ClassifyError("\"...\" inside a token (%s)" % " ".join(elided))
    cmd.template = "[PROPS]" in cmd.pipeline or any(
        re.search(r"^[a-z-]*location=\w+://[^/]*:PORT(/|$)", t) for t in cmd.pipeline)
    placeholders = [t for t in cmd.pipeline if re.match(r"^\[[A-Z]+\]$", t)
                    and t != "[PROPS]"]
    if placeholders:
        raise ClassifyError("unknown placeholder(s) %s" % placeholders)
    cmd.elements = parse_pipeline([t for t in cmd.pipeline if t != "[PROPS]"])
    names = cmd.factories()
    if cmd.expected:
        if not all(e.startswith("ERROR:") for e in cmd.expected):
            raise ClassifyError("documented output that is not an ERROR line: %r"
                                % cmd.expected)
        cmd.kind = "expected-error"
        return cmd
    publishes = names & PUBLISHER_ELEMENTS
    plays = names & PLAYER_ELEMENTS
    if publishes and plays:
        raise ClassifyError("both publishes and plays")
    if publishes:
        classify_publisher(cmd)
    elif plays:
        classify_player(cmd)
    else:
        raise ClassifyError("neither publishes nor plays nor documents an error")
    return cmd
