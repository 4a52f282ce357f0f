#!/usr/bin/env bash
# Make the small WOFF2 fonts the pages load from the full TTFs in static/fonts (which the PDFs embed).
# Latin is cut to what the interface languages use; Khmer and Thai keep every glyph and only load
# on pages that contain those scripts (unicode-range in app.css). Needs fonttools and brotli.
set -euo pipefail
cd "$(dirname "$0")/.."
subset=".venv/bin/pyftsubset"
latin="U+0000-00FF,U+0131,U+0152-0153,U+02C6,U+02DA,U+02DC,U+2000-206F,U+20AC,U+2122,U+2190-2193,U+2212"
for weight in Regular Bold; do
  "$subset" "static/fonts/NotoSans-$weight.ttf" --unicodes="$latin" --flavor=woff2 --no-hinting --desubroutinize \
    --layout-features='kern,liga,calt,ccmp,locl,mark,mkmk' --output-file="static/fonts/web/NotoSans-$weight.woff2"
  for script in Khmer Thai; do
    "$subset" "static/fonts/NotoSans$script-$weight.ttf" --unicodes='*' --flavor=woff2 --no-hinting \
      --layout-features='*' --output-file="static/fonts/web/NotoSans$script-$weight.woff2"
  done
done
