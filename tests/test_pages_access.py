

def test_a_stale_review_form_is_refused_with_the_newer_review_shown(seeded_app: Engine) -> None:
    at = start_app("pages/replay.py", user="王质检")
    at.text_input(key="replay_lookup").input("tm-3").run()
    with seeded_app.connect() as conn:  # meanwhile, the same reviewer in another tab
        wang = conn.scalar(select(User.id).where(User.name == "王质检"))
    cid = read(seeded_app, resolve_conversation, "tm-3")
    save_review(seeded_app, cid, wang, Review({"态度礼貌": 1}, "不合格", "禁用语"), base_version=0)
    at.segmented_control(key="review_verdict").set_value("合格")
    [b for b in at.button if b.label == "保存评审"][0].click().run()
    errors = [e.value for e in at.error]
    assert any("这份评审在你打开表单后已被修改" in e and "结论 不合格" in e and "你的修改没有保存" in e for e in errors)
    assert read(seeded_app, my_review, cid, wang).verdict == "不合格"
    [b for b in at.button if b.label == "保存评审"][0].click().run()  # seen: a second click overwrites on purpose
    assert read(seeded_app, my_review, cid, wang).verdict == "合格"
