"""数据: upload files through the same import code as the CLI, see past imports and rejections, score now, remove a
conversation that should never have been imported."""

from __future__ import annotations

import streamlit as st

from qa.access import allowed
from qa.audit import audit_table, audit_trail
from qa.errors import HuifangError
from qa.ingest.formats import upload_extensions
from qa.ingest.importer import ZIP_MAX_RATIO, ZIP_MEMBER_MAX_BYTES, import_stream
from qa.ingest.rejections import KEPT_REJECTIONS
from qa.ingest.removal import delete_conversations
from qa.ingest.runs import INTERRUPTED, interrupted_text
from qa.jobs.status import (
    RUN_STATES,
    ScorerUnavailable,
    batch_rejections,
    past_imports,
    rejections_frame,
    scorer_version,
    scoring_status,
)
from ui.cache import background_scoring, data_version_now, engine, read
from ui.frame import require_frame
from ui.state import flash, show_flash
from ui.text import plain
from ui.uploader import upload_files
from ui.user import current_principal

require_frame(__file__)

REJECTION_COLUMNS = {"file": "文件", "row": st.column_config.NumberColumn("行", format="%d"), "field": "字段",
                     "reason": "原因"}
BATCH_COLUMNS = {
    # widths in pixels and counts with separators, so that the table fits the page at 1440 px
    "id": st.column_config.NumberColumn("批次", width=45), "file_name": st.column_config.TextColumn("文件", width=140),
    "format": st.column_config.TextColumn("格式", width=115),
    "imported_at": st.column_config.DatetimeColumn("导入时间", format="YYYY-MM-DD HH:mm", width=125),
    "status": st.column_config.TextColumn("状态", width=50),
    **{key: st.column_config.NumberColumn(label, format="localized", width=60) for key, label in (
        ("conversations_added", "新增会话"), ("conversations_merged", "合并"), ("conversations_unchanged", "未变"),
        ("messages_added", "新增消息"), ("tickets_added", "新增工单"), ("tickets_updated", "更新工单"),
        ("reviews_added", "新增评价"), ("rejected", "拒绝行"))},
}


@st.cache_data(ttl=30, show_spinner=False)
def _scorer_version() -> str:
    """The models' version, re-read at most every 30 seconds (loading them takes a moment)."""
    return scorer_version()


def scoring_progress() -> None:
    """The background run's progress, redrawn every second while it runs; the page refreshes when it ends."""
    now = background_scoring().progress()
    if now.running:
        share = now.done / now.total if now.total else 0.0
        st.progress(share, text=f"后台评分中：已评分 {now.done:,} / {now.total:,} 条会话")
        st.session_state["_scoring_seen_running"] = True
        return
    if st.session_state.pop("_scoring_seen_running", False):
        data_version_now.clear()
        st.rerun()  # the counters above were drawn before the run ended
    if now.error:
        st.error(f"评分中断：{plain(now.error)}。已评分的部分已保存，可点“重新评分”继续。")
    elif now.report:
        r = now.report
        st.success(f"上次评分：已评分 {r.scored:,} 条会话、{r.messages:,} 条消息，用时 {r.seconds:.1f} 秒")


LAST_IMPORT_KEY = "_last_import"
st.title("数据导入与评分")

with st.form("import_form", clear_on_submit=True):
    files = upload_files("上传聊天记录、消息表、工单表或商品评价表（可多选；zip 内的每个文件分别导入）", upload_extensions(),
                         key="import_files")
    submitted = st.form_submit_button("导入", type="primary")
st.caption(f"单个文件最大 {st.get_option('server.maxUploadSize'):,} MB，更大的文件请用命令行 huifang import 导入；"
           f"zip 中的每个文件解压后最大 {ZIP_MEMBER_MAX_BYTES // 2**20:,} MB、压缩比不超过 {ZIP_MAX_RATIO} 倍；"
           f"每个文件的被拒绝行全部计数，列出前 {KEPT_REJECTIONS:,} 条。")
if submitted and files:
    reports, errors = [], []
    for upload in files:
        try:
            with st.spinner(f"正在导入 {plain(upload.name)}…"):  # a file name is typed by whoever named the file
                bar = st.empty()
                reports += import_stream(engine(), upload.name, upload, by=current_principal(), on_chunk=lambda d, n: (
                    bar.progress(d / n, text=f"已存入 {d}/{n} 批完整的会话（导入期间质检员照常保存）")))
                bar.empty()
        except HuifangError as e:  # unreadable file: nothing from it was stored, or an interrupted import says so
            errors.append(str(e))
    # kept for the runs that follow: the page reruns when background scoring ends, and the report must stay
    st.session_state[LAST_IMPORT_KEY] = (errors, [(bool(r.rejected), r.summary()) for r in reports],
                                         rejections_frame(reports))
    if reports:
        data_version_now.clear()
        if background_scoring().start(engine(), by=current_principal()):
            flash("已开始在后台为新导入的会话评分：可以离开本页，评分完成后各页自动更新。", "info")
        st.rerun()
elif submitted:
    st.warning("请先选择要导入的文件。")
show_flash()
if LAST_IMPORT_KEY in st.session_state:
    errors, summaries, rejected = st.session_state[LAST_IMPORT_KEY]
    for error in errors:
        st.error(plain(error))
    for had_rejections, summary in summaries:
        (st.warning if had_rejections else st.success)(plain(summary))
    if not rejected.empty:
        st.markdown(f"**被拒绝的行（{len(rejected):,}）**")
        st.dataframe(rejected, hide_index=True, column_config=REJECTION_COLUMNS)

st.subheader("评分")
try:
    version = _scorer_version()
except ScorerUnavailable as e:
    st.warning(str(e))
else:
    status = read(scoring_status, version)
    m = st.columns(4)
    m[0].metric("会话总数", f"{status.total:,}")
    m[1].metric("未评分", f"{status.unscored:,}")
    m[2].metric("评分已过期", f"{status.stale:,}", help="会话内容变了，或模型更新后还没重新评分")
    m[3].metric("已是最新", f"{status.total - status.pending:,}")
    st.caption(f"当前模型版本 {version}（模型文件的指纹：任何模型重新训练后都会变，已有的评分随之过期；各模型的训练日期见“模型”页）")
    # a fragment on a timer only while a run goes on: an idle page is not redrawn every second
    st.fragment(scoring_progress, run_every=1.0 if background_scoring().progress().running else None)()
    if st.button(f"重新评分（{status.pending:,} 条）", key="score_now", disabled=status.pending == 0,
                 help="导入后会自动评分；模型更新后，或上次评分中断时，在这里补评") and \
            background_scoring().start(engine(), by=current_principal()):
        st.rerun()

st.subheader("导入记录")
batches = read(past_imports)
if batches.empty:
    st.caption("还没有导入过文件。")
else:
    interrupted = batches[batches["status"] == RUN_STATES[INTERRUPTED]]
    for b in interrupted.head(5).itertuples():
        st.warning(plain(interrupted_text(b.id, b.file_name, b.conversations_added)))
    st.dataframe(batches, hide_index=True, column_config=BATCH_COLUMNS)
    for b in batches[batches["rejected"] > 0].head(10).itertuples():
        with st.expander(f"批次 {b.id} · {plain(b.file_name)}：拒绝 {b.rejected:,} 行"):
            st.dataframe(read(batch_rejections, b.id), hide_index=True, column_config=REJECTION_COLUMNS)

if allowed(current_principal(), "delete"):
    with st.expander("删除会话"):
        st.caption("删除不该导入的会话（例如时间明显错误的会话），连同它的消息、评分、评审和批注；无法撤销，记入审计记录。")
        with st.form("delete_conversation_form", clear_on_submit=True):
            doomed = st.text_input("要删除的会话", placeholder="来源键“平台|会话ID”、会话ID 或数据库 ID",
                                   key="delete_conversation")
            sure = st.checkbox("确认删除，无法撤销", key="delete_conversation_sure")
            delete_now = st.form_submit_button("删除会话")
        if delete_now and not (doomed.strip() and sure):
            st.warning("请填写要删除的会话，并勾选确认。")
        elif delete_now:
            try:
                removal = delete_conversations(engine(), [doomed], by=current_principal())
            except HuifangError as e:  # an unknown or ambiguous name removes nothing and says so
                st.error(plain(e))
            else:
                data_version_now.clear()
                flash(removal.summary())
                st.rerun()

if allowed(current_principal(), "audit"):
    st.subheader("审计记录")
    st.caption("谁在何时新建、修改或删除了评审、批注、培训清单、账号，删除了会话、预警规则，以及每次导入；只能查看，不能修改或删除。")
    st.dataframe(audit_table(read(audit_trail, current_principal())), hide_index=True, column_config={
        "时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        "内容": st.column_config.TextColumn(width="large")})
