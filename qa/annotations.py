"""Reviewers' judgements: the rubric, the verdict vocabulary, and saving/editing annotations.

The vocabulary lives here so the queue, replay, agreement statistics and exports all use the same words.
"""

from __future__ import annotations

__all__ = ["RUBRIC", "RUBRIC_SCALE", "VERDICTS", "MESSAGE_TAGS"]

RUBRIC: tuple[str, ...] = ("响应及时", "态度礼貌", "解决问题", "规范用语")
RUBRIC_SCALE: tuple[int, int] = (1, 5)
VERDICTS: tuple[str, ...] = ("合格", "需改进", "不合格")
MESSAGE_TAGS: tuple[str, ...] = ("禁用语", "语气生硬", "答非所问", "推诿", "信息错误", "超时", "优秀话术")
