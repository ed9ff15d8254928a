"""Engine tests run torch single-threaded.

The nets under test are tiny (batch 8 or less), so a second intra-op thread buys nothing; on a busy
2-core box (CI running a browser test's server, or several people sharing a machine) OpenMP
threads waiting for each other made tests/core about five times slower (7.5 minutes instead of
1.5 here).  Subprocesses get the same setting, so a number computed in a child process is summed
in the same order as in the test process.  Restored after each module: tests/app and
tests/browser keep torch's default.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield
    torch.set_num_threads(threads)
