# Sourced by demo.sh and test.sh: create (once) and enter the project's virtual environment .venv, then install
# the project into it with the extras given ("" or "[test]"). A venv, because Debian's and Ubuntu's system Python
# refuses `pip install` outside one (externally-managed-environment).
need_python="3.11"
python="${HUIFANG_PYTHON:-python3}"
if ! "$python" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
  echo "需要 Python $need_python 或更新（找到：$("$python" --version 2>&1)）。可用 HUIFANG_PYTHON=/path/to/python3.11 指定。" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "== 创建虚拟环境 .venv（$("$python" --version)）"
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "== 安装 python3-venv（Debian/Ubuntu 的系统 Python 需要它才能创建虚拟环境）"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv .venv
  fi
fi
# shellcheck disable=SC1091
. .venv/bin/activate
echo "== 安装依赖（首次约 1–2 分钟，之后几秒）"
python -m pip install -q --upgrade pip >/dev/null
python -m pip install --progress-bar off -e ".$1" 2>&1 | grep -E "^(Collecting|Successfully installed|ERROR)" \
  | sed -E 's/^Collecting /  下载 /; s/^Successfully installed .*/  已安装/' || true
python -c "import qa, scoring, streamlit" || { echo "依赖安装失败，见上面的错误" >&2; exit 1; }
