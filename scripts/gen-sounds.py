#!/usr/bin/env python3
"""Writes the verdict sounds, assets/sounds/{accept,warn,reject}.wav (embedded in the binary).

Usage: scripts/gen-sounds.py   (standard library only; the output is the same on every run)

Three short cues an operator tells apart without looking, even in a noisy hall:
- accept: one short high beep, 1.8 kHz, 80 ms;
- warn:   two mid beeps, 1 kHz, 70 ms each with 50 ms between (190 ms);
- reject: one low buzz, 350 Hz, 250 ms, a band-limited square wave (odd harmonics).
16-bit mono PCM at 22 050 Hz; each tone fades in and out over 5 ms so it starts and ends
without a click.
"""
import math
import pathlib
import struct
import wave

RATE = 22050
PEAK = 0.6 * 32767  # headroom: handheld speakers distort near full scale
FADE_S = 0.005

root = pathlib.Path(__file__).resolve().parent.parent
out_dir = root / "assets" / "sounds"


def tone(freq, seconds, harmonics=(1,)):
    """A tone of `seconds` at `freq` Hz: the given odd harmonics at 1/n amplitude (a square
    wave's series, cut below the Nyquist frequency), normalised to PEAK, with fades."""
    n = round(seconds * RATE)
    fade = round(FADE_S * RATE)
    parts = [h for h in harmonics if h * freq < RATE / 2]
    norm = sum(1 / h for h in parts)
    samples = []
    for i in range(n):
        t = i / RATE
        v = sum(math.sin(2 * math.pi * h * freq * t) / h for h in parts) / norm
        env = min(1.0, i / fade, (n - 1 - i) / fade)
        samples.append(round(v * env * PEAK))
    return samples


def silence(seconds):
    return [0] * round(seconds * RATE)


def write(name, samples):
    path = out_dir / f"{name}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    print(f"{path.relative_to(root)}: {len(samples) / RATE * 1000:.0f} ms, {path.stat().st_size} bytes")


def main():
    out_dir.mkdir(parents=True, exist_ok=True)
    write("accept", tone(1800, 0.080))
    write("warn", tone(1000, 0.070) + silence(0.050) + tone(1000, 0.070))
    write("reject", tone(350, 0.250, harmonics=(1, 3, 5, 7, 9)))


if __name__ == "__main__":
    main()
