#!/usr/bin/env bash
# Regenerates the demo cameras' video: FFmpeg's moving test pattern, 10 s of 640x360 at 25 fps,
# H.264 Constrained Baseline with a keyframe every second (a viewer starts within a second), as
# Annex-B. The file loops seamlessly in the simulator (250 frames, keyframe first).
set -euo pipefail
cd "$(dirname "$0")/media"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=25" -t 10 \
  -c:v libx264 -profile:v baseline -preset veryslow -crf 30 -g 25 -keyint_min 25 -sc_threshold 0 \
  -bsf:v h264_mp4toannexb -f h264 test-pattern-360p.h264
# Their audio: AAC (which browsers play from HTTP-FLV, unlike G.711), mostly silence with an 80 ms
# 880 Hz beep at the start of every second, 10 s long like the video.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "aevalsrc='0.2*sin(2*PI*880*t)*lt(mod(t\,1)\,0.08)':s=16000:d=10" \
  -c:a aac -b:a 24k -ac 1 -f adts test-beep.aac
