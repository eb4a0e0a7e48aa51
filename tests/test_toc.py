"""The table of contents puts each exercise under its chapter, and the two link each other."""

import json
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]

# exercise -> the chapter it practises (the warm-up stands first, before chapter 1)
EXERCISE_CHAPTER = {
    "00_warmup_als": "01_pca", "01_pca_als": "01_pca", "02_nmf_practical": "02_nmf",
    "03_rank_selection": "04_model_assessment", "04_cp_trials": "05_tensor_cp",
    "05_rpca_ialm": "06_robust_pca_bear", "06_prox_backward": "07_prox_unet",
    "07_fista_unroll": "08_crsae", "08_sparse_var": "09_sparse_var",
    "09_sequences": "04b_seqnmf",
}


def _markdown(path: pathlib.Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_every_exercise_is_listed_once():
    on_disk = {p.stem for p in (ROOT / "exercises").glob("[0-9]*.ipynb")}
    assert on_disk == set(EXERCISE_CHAPTER)


def test_each_exercise_sits_under_its_chapter_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    under = {}
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            for section in chapter.get("sections", []):
                under[section["file"]] = chapter["file"]
    for exercise, chapter in EXERCISE_CHAPTER.items():
        if exercise == "00_warmup_als":
            continue                                  # a chapter of its own, before chapter 1
        assert under.get(f"exercises/{exercise}") == f"book/{chapter}", exercise


def test_chapters_and_exercises_link_each_other():
    for exercise, chapter in EXERCISE_CHAPTER.items():
        chapter_text = _markdown(ROOT / "book" / f"{chapter}.ipynb")
        assert f"exercises/{exercise}" in chapter_text, f"{chapter} does not link {exercise}"
        for path in (ROOT / "exercises" / f"{exercise}.ipynb",
                     ROOT / "exercises" / "solutions" / f"{exercise}_sol.ipynb"):
            assert f"book/{chapter}" in _markdown(path), f"{path.name} does not link {chapter}"


def _entries(items, parent=None):
    """(file, parent file, entry) for every toc entry below ``items``, depth first."""
    for item in items:
        yield item["file"], parent, item
        yield from _entries(item.get("sections", []), item["file"])


def test_each_solution_is_a_section_under_its_exercise():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parent = {file: up for part in toc["parts"] for file, up, _ in _entries(part["chapters"])}
    for exercise in EXERCISE_CHAPTER:
        assert parent.get(f"exercises/solutions/{exercise}_sol") == f"exercises/{exercise}", \
            exercise


def test_solutions_are_not_excluded_from_the_book():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert not any("solutions" in pattern for pattern in config["exclude_patterns"])


def test_exercises_and_solutions_link_each_other():
    for exercise in EXERCISE_CHAPTER:
        student = _markdown(ROOT / "exercises" / f"{exercise}.ipynb")
        solution = _markdown(ROOT / "exercises" / "solutions" / f"{exercise}_sol.ipynb")
        assert f"](solutions/{exercise}_sol.ipynb)" in student, exercise
        assert f"](../{exercise}.ipynb)" in solution, exercise
