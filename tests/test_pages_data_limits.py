"""The upload limit is set, and the data page says it in Chinese (issue #12)."""

from __future__ import annotations

import tomllib

from sqlalchemy import Engine

from tests.app_fixtures import start_app
from tests.conftest import ROOT


def test_uploads_are_limited_in_the_streamlit_config() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == 512


def test_the_data_page_states_the_limits(seeded_app: Engine) -> None:
    at = start_app("pages/data.py")
    assert not at.exception
    assert ("单个文件最大 512 MB，更大的文件请用命令行 huifang import 导入；zip 中的每个文件解压后最大 1,024 MB、"
            "压缩比不超过 200 倍；每个文件的被拒绝行全部计数，列出前 1,000 条。") in [c.value for c in at.caption]
