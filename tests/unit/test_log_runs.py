"""The kept runs of `make local`: a directory per run, `latest` on the newest, the last KEEP_RUNS kept."""

import json
from datetime import UTC, datetime, timedelta

from local.observability import logs, runs

START = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


def begin(root, minutes: int, keep: int = runs.KEEP_RUNS):
    directory = runs.run_directory(root, START + timedelta(minutes=minutes), pid=100 + minutes)
    runs.begin_run(directory, keep)
    (directory / logs.FUNCTIONS_LOG).write_text(json.dumps({"message": f"run {minutes}"}) + "\n")
    return directory


def test_each_run_has_its_own_directory_and_latest_points_at_the_newest(tmp_path):
    first, second = begin(tmp_path, 0), begin(tmp_path, 1)

    assert first != second and runs.kept_runs(tmp_path) == [first, second]
    assert (tmp_path / runs.LATEST).resolve() == second.resolve()


def test_runs_beyond_the_kept_number_are_removed_oldest_first(tmp_path):
    made = [begin(tmp_path, minute, keep=3) for minute in range(5)]

    assert runs.kept_runs(tmp_path) == made[-3:]
    assert not made[0].exists() and not made[1].exists()


def test_other_log_directories_are_never_pruned(tmp_path):
    (tmp_path / "e2e").mkdir()
    for minute in range(4):
        begin(tmp_path, minute, keep=1)

    assert (tmp_path / "e2e").is_dir() and len(runs.kept_runs(tmp_path)) == 1


def test_every_kept_run_is_read_once_though_latest_links_to_one_of_them(tmp_path):
    begin(tmp_path, 0), begin(tmp_path, 1)

    messages = [entry["message"] for path in logs.log_files(tmp_path) for entry in logs.json_lines(path)]
    assert sorted(messages) == ["run 0", "run 1"]


def test_the_root_is_the_variable_when_set(tmp_path):
    assert runs.logs_root({runs.VARIABLE: str(tmp_path)}) == tmp_path
    assert runs.logs_root({}).name == "logs"
