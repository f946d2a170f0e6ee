#!/usr/bin/env python3
"""Writes the small WAVs of tests/audio_features_test.cc (known samples).

The compressed files (sine440_16k.flac, sine440_48k_stereo.opus,
sine440_16k.mp3) hold 0.4*sin(2*pi*440*t) and were written by libsndfile
1.2.0 itself (sf_writef_float; 1600, 4800 and 8000 frames).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GUID_PCM = b'\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71'


def wav(name, tag, ch, rate, bits, payload, extensible=False):
    align = ch * bits // 8
    if extensible:
        fmt = struct.pack('<HHIIHHHHI', 0xFFFE, ch, rate, rate * align, align,
                          bits, 22, bits, 0) + GUID_PCM
    else:
        fmt = struct.pack('<HHIIHH', tag, ch, rate, rate * align, align, bits)
    body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt
    if tag == 3:  # IEEE float wants a fact chunk
        body += b'fact' + struct.pack('<II', 4, len(payload) // align)
    body += b'data' + struct.pack('<I', len(payload)) + payload
    if len(payload) & 1:
        body += b'\0'
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(b'RIFF' + struct.pack('<I', len(body)) + body)


wav('pcm_u8_mono_8k.wav', 1, 1, 8000, 8, bytes([0, 64, 128, 192, 255]))
wav('pcm_s24_mono_22k.wav', 1, 1, 22050, 24, b''.join(
    struct.pack('<i', x)[:3]
    for x in [-8388608, -4194304, 0, 1, 8388607, -1]))
wav('pcm_s32_mono_48k.wav', 1, 1, 48000, 32, b''.join(
    struct.pack('<i', x)
    for x in [-2**31, -2**30, 0, 2**16, 2**31 - 2**7, 2**29 + 2**28]))
wav('float_mono_16k.wav', 3, 1, 16000, 32, b''.join(
    struct.pack('<f', x)
    for x in [0.25, -0.75, 1.5, float('nan'), float('inf'), -0.125]))
wav('pcm_s16_3ch_16k.wav', 1, 3, 16000, 16, b''.join(
    struct.pack('<hhh', *f)
    for f in [(16384, 8192, 0), (-32768, -32768, -32768), (100, 200, 300),
              (1, 0, 0), (32767, -32768, 1)]), extensible=True)
