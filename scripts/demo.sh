#!/usr/bin/env bash
# Install Huifang, load the demo archive into the embedded SQLite database (once), and start the app.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e .
if [ ! -f data/huifang.db ] || [ "${HUIFANG_DEMO_RELOAD:-0}" = 1 ]; then
  huifang demo
fi
exec python3 -m streamlit run app.py "$@"
