"""How a search word is widened: synonyms, and two-character pieces of a Chinese run."""

from services.search import word_variants


def test_a_chinese_run_matches_by_its_two_character_pieces_and_their_synonyms():
    assert word_variants("开饭店") == ["开饭店", "开饭", "饭店", "餐饮", "餐馆", "餐厅"]


def test_short_and_english_words_match_as_written_or_by_synonym():
    assert word_variants("restaurant") == ["restaurant"]
    assert word_variants("结婚") == ["结婚", "婚姻"]
    assert word_variants("餐饮") == ["餐饮"]
