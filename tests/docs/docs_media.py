"""What a player decoded, from gst-launch -v output and the WAV file of its
audio: video frames counted from the fakesink's last-message lines, audio
(its format from the WAV header) checked against audiotestsrc's default
440 Hz sine by its zero crossings.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import array
import re
import statistics
import struct
import sys

SINE_HZ = 440.0
BLOCK_S = 0.05              # analysis block
LOUD = 0.1                  # RMS, of full scale, of a block that has sound
PITCH_TOLERANCE = 0.08      # a block is "the sine" within +-8 % of 440 Hz


def chain_line(sink_name):
    """Matches one buffer reaching the fakesink (gst-launch -v)"""
    prefix = re.compile(r"^/GstPipeline:pipeline\d+/GstFakeSink:%s: "
                        r"last-message = chain " % re.escape(sink_name))
    return lambda line: bool(prefix.match(line))


CAPS_FIELD = re.compile(r"(\w[\w-]*)=\((\w+)\)([^,]+)")


def sink_caps(lines, element_name, media):
    """The caps of the sink pad of element_name as gst-launch -v printed
    them last, as a dict of field -> string; else the last caps of media
    (e.g. "audio/x-raw") printed for any pad (gst-launch -v does not show
    every pad's caps every time, and converters in front of the sink keep
    the format)"""
    own = re.compile(r"^/GstPipeline:pipeline\d+/\w+:%s\.GstPad:sink: caps = (.*)$"
                     % re.escape(element_name))
    anyp = re.compile(r"^/GstPipeline:pipeline\d+/\S+\.GstPad:\w+: caps = (%s\b.*)$"
                      % re.escape(media))
    # a fakesink's own report of its caps event (silent=false), for the
    # runs where gst-launch -v printed no caps line for the decoded pads
    # (GStreamer 1.22 posts those property notifications from the
    # streaming thread and now and then misses one)
    event = re.compile(r"^/GstPipeline:pipeline\d+/\w+:%s: last-message = "
                       r"event .*\(type: caps .*caps=\(GstCaps\)\"(%s\b.*)\";\)"
                       % (re.escape(element_name), re.escape(media)))
    found = fallback = from_event = None
    for line in lines:
        m = own.match(line)
        if m:
            found = m.group(1)
        m = anyp.match(line)
        if m:
            fallback = m.group(1)
        m = event.match(line)
        if m:
            from_event = re.sub(r"\\(.)", r"\1", m.group(1))
    text = found or fallback or from_event
    if text is None:
        return None
    caps = {"media": text.split(",", 1)[0].strip()}
    for k, _, v in CAPS_FIELD.findall(text):
        caps[k] = v.strip()
    return caps


def framerate(caps):
    num, den = caps.get("framerate", "0/1").split("/")
    return int(num) / int(den) if int(den) else 0.0


WAVE_FORMAT_PCM = 1
WAVE_FORMAT_IEEE_FLOAT = 3
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
WAV_SIZE_UNKNOWN = 0x7FFF0000   # wavenc's data size until it ends


def wav_info(path):
    """The format of a WAV file as wavenc writes it, as caps fields
    ({"media", "format", "rate", "channels"}) plus "offset" and "size" of
    its samples; None while the file has no complete header (nothing
    decoded yet).  A file whose stream did not end (no EOS) has wavenc's
    placeholder data size: its samples run to the end of the file."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            total = f.seek(0, 2)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt " and body + 16 <= len(head):
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH",
                                                                 head, body)
            if tag == WAVE_FORMAT_EXTENSIBLE and body + 26 <= len(head):
                tag = struct.unpack_from("<H", head, body + 24)[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            if fmt is None:
                return None
            tag, channels, rate, bits = fmt
            name = {(WAVE_FORMAT_PCM, 16): "S16LE",
                    (WAVE_FORMAT_IEEE_FLOAT, 32): "F32LE"}.get((tag, bits),
                                                               "wav-%d-%d" % (tag, bits))
            avail = total - body
            n = avail if size >= WAV_SIZE_UNKNOWN else min(size, avail)
            return {"media": "audio/x-raw", "format": name, "rate": str(rate),
                    "channels": str(channels), "layout": "interleaved",
                    "offset": body, "size": n}
        pos = body + size + (size & 1)
    return None


def read_samples(path, caps):
    """The first channel's samples as floats in [-1, 1], and the rate;
    caps: wav_info's, or caps fields of a raw file (offset 0, to its end)"""
    fmt = caps.get("format")
    channels = int(caps.get("channels", "1"))
    rate = int(caps["rate"])
    layout = caps.get("layout", "interleaved")
    with open(path, "rb") as f:
        f.seek(caps.get("offset", 0))
        data = f.read(caps["size"]) if "size" in caps else f.read()
    if fmt == "S16LE":
        a, scale = array.array("h"), 32768.0
    elif fmt == "F32LE":
        a, scale = array.array("f"), 1.0
    else:
        raise ValueError("audio format %s not analysed" % fmt)
    data = data[:len(data) - len(data) % (a.itemsize * channels)]
    a.frombytes(data)
    if sys.byteorder != "little":
        a.byteswap()
    if channels > 1 and layout == "interleaved":
        a = a[::channels]
    elif channels > 1:
        raise ValueError("non-interleaved multichannel audio not analysed")
    return [x / scale for x in a], rate


def block_pitch(block, rate):
    """(rms, frequency from zero crossings)"""
    rms = (sum(x * x for x in block) / len(block)) ** 0.5
    crossings = sum(1 for a, b in zip(block, block[1:]) if (a < 0) != (b < 0))
    return rms, crossings * rate / (2.0 * len(block))


def analyse_audio(path, caps):
    """{"seconds": decoded duration, "loud_seconds", "sine_seconds" (blocks
    at 440 Hz), "median_hz"}"""
    samples, rate = read_samples(path, caps)
    n = int(rate * BLOCK_S)
    loud, sine, freqs = 0, 0, []
    for i in range(0, len(samples) - n + 1, n):
        rms, hz = block_pitch(samples[i:i + n], rate)
        if rms < LOUD:
            continue
        loud += 1
        freqs.append(hz)
        if abs(hz - SINE_HZ) <= SINE_HZ * PITCH_TOLERANCE:
            sine += 1
    return {"seconds": len(samples) / rate, "loud_seconds": loud * BLOCK_S,
            "sine_seconds": sine * BLOCK_S,
            "median_hz": statistics.median(freqs) if freqs else 0.0}
