#!/usr/bin/env bash
# Regenerates the mock camera's sample media in fixtures/media/ with ffmpeg (Debian `ffmpeg`).
# Every file is 2 s of a synthetic test source, small, and looped by the mock camera.
# The exact command for each file is below; run `bash scripts/make-media.sh` to rebuild them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/media"
FF=(ffmpeg -hide_banner -loglevel error -nostdin -y -fflags +bitexact)
BITEXACT=(-flags:v +bitexact -map_metadata -1)
src() { echo "testsrc=size=$1:rate=25"; }

# H.264 Annex B, Constrained Baseline, keyframe every 25 frames (1 s), SPS/PPS before each IDR.
for size in 640x360 320x180; do
  "${FF[@]}" -f lavfi -i "$(src $size)" -t 2 -c:v libx264 -profile:v baseline -pix_fmt yuv420p \
    -g 25 -keyint_min 25 -sc_threshold 0 -bf 0 -b:v 300k -x264-params repeat-headers=1 \
    "${BITEXACT[@]}" -bsf:v h264_mp4toannexb -f h264 "h264_$size.h264"
done
# H.265 Annex B, Main, keyframe every 25 frames, VPS/SPS/PPS repeated.
"${FF[@]}" -f lavfi -i "$(src 640x360)" -t 2 -c:v libx265 -pix_fmt yuv420p -b:v 200k \
  -x265-params "keyint=25:min-keyint=25:scenecut=0:bframes=0:repeat-headers=1:log-level=error" \
  "${BITEXACT[@]}" -f hevc h265_640x360.h265
# MJPEG: concatenated baseline JPEG frames, 4:2:0, sides multiples of 8 (RFC 2435 sizes), with the standard Huffman tables (RFC 2435
# can only carry those; ffmpeg optimises them by default).
"${FF[@]}" -f lavfi -i "$(src 320x240)" -t 2 -c:v mjpeg -huffman default -pix_fmt yuvj420p -q:v 8 \
  "${BITEXACT[@]}" -f mjpeg mjpeg_320x240.mjpeg
# AAC-LC in ADTS, 16 kHz mono (a common camera audio setting).
"${FF[@]}" -f lavfi -i sine=frequency=1000:sample_rate=16000 -t 2 -ac 1 -c:a aac -b:a 32k \
  -flags:a +bitexact -map_metadata -1 -f adts aac_16k_mono.aac
# G.711 mu-law and A-law, raw, 8 kHz mono.
"${FF[@]}" -f lavfi -i sine=frequency=440:sample_rate=8000 -t 2 -ac 1 -c:a pcm_mulaw -f mulaw g711_ulaw_8k.raw
"${FF[@]}" -f lavfi -i sine=frequency=440:sample_rate=8000 -t 2 -ac 1 -c:a pcm_alaw -f alaw g711_alaw_8k.raw
ls -l
