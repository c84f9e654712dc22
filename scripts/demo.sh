#!/usr/bin/env bash
# Install Huifang into .venv, load the demo archive into the embedded SQLite database (once), and start the app
# on http://localhost:8501 (only this machine: pass --server.address 0.0.0.0 to share it on the network).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh ""
if [ ! -f data/huifang.db ] || [ "${HUIFANG_DEMO_RELOAD:-0}" = 1 ]; then
  echo "== 生成并导入演示数据、评分（首次约 2–3 分钟）"
  huifang demo
fi
echo "== 启动 回放 Huifang：http://localhost:8501（演示账号：演示管理员 / demo-admin，其余角色见 README）"
exec python -m streamlit run app.py --server.address 127.0.0.1 "$@"
