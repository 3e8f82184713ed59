"""Gradescope's documented results.json format (https://gradescope-autograders.readthedocs.io/en/latest/specs/),
checked field by field: what the kit's tests hold every results.json to."""

VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")
TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "tags", "visibility"}


def validate(results: dict) -> None:
    assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], int)
    assert isinstance(results["output"], str) and results["visibility"] in VISIBILITY
    assert results.get("stdout_visibility", "hidden") in VISIBILITY
    for test in results["tests"]:
        assert set(test) == TEST_KEYS, set(test) ^ TEST_KEYS
        assert isinstance(test["name"], str) and isinstance(test["number"], str) and isinstance(test["output"], str)
        assert test["status"] in ("passed", "failed") and 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in VISIBILITY and all(isinstance(tag, str) for tag in test["tags"])
    for entry in results.get("leaderboard", []):
        assert isinstance(entry["name"], str) and isinstance(entry["value"], (int, float, str))
        assert entry.get("order", "desc") in ("asc", "desc")
