from ingest.textfix import clean_heading, decode, repair


def test_mojibake_from_the_learning_path_is_repaired():
    fixed = repair("## ðŸŽ¯ Overview\n- Hands-On Machine Learning (AurÃ©lien GÃ©ron)\nâœ… done")
    assert fixed.text == "## 🎯 Overview\n- Hands-On Machine Learning (Aurélien Géron)\n✅ done"
    assert fixed.changed and fixed.dropped_lines == 0


def test_clean_text_is_left_alone():
    text = "Aurélien Géron wrote it – 3–6 months, naïve café."
    assert repair(text).text == text and not repair(text).changed


def test_unrepairable_garbage_is_dropped_not_stored():
    fixed = repair("good line\nbroken Ã\x81Ã\x82Ã\x83 ÃƒÂ¢Ã¢â€šÂ¬ text\x00")
    assert "Ã" not in fixed.text and "\x00" not in fixed.text
    assert fixed.text.startswith("good line\n")


def test_decode_falls_back_to_windows_1252():
    assert decode("café".encode("cp1252")) == "café"
    assert decode("\ufeffcafé".encode()) == "café"


def test_headings_lose_emoji_and_markup():
    assert clean_heading("🎯 Overview") == "Overview"
    assert clean_heading("**Level 1**: Foundations ##") == "Level 1: Foundations"
