from tests.replicas import run_with_replicas


def test_snippet_sees_requested_replicas():
    out = run_with_replicas("save(n=strategy.num_replicas_in_sync)", 2)
    assert int(out["n"]) == 2
