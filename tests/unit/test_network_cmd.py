"""The one way the agent and the proxy run networking tools: stdout back, or one line naming the
command, its exit and what it said."""

from __future__ import annotations

import pytest

from agent.network.cmd import CommandError, NetworkError, run


async def test_stdout_comes_back_and_stdin_goes_in() -> None:
    assert await run(("sh", "-c", "tr a-z A-Z"), stdin="ip link\n") == "IP LINK\n"


async def test_a_failure_is_one_line_with_the_command_its_exit_and_its_stderr() -> None:
    with pytest.raises(CommandError) as raised:
        await run(("sh", "-c", "echo 'RTNETLINK answers: File exists' >&2; echo more >&2; exit 2"))
    assert str(raised.value) == ("`sh -c 'echo '\"'\"'RTNETLINK answers: File exists'\"'\"' >&2; echo more >&2; "
                                 "exit 2'` failed (exit 2): RTNETLINK answers: File exists; more")
    assert isinstance(raised.value, NetworkError) and raised.value.returncode == 2


async def test_a_missing_program_is_named() -> None:
    with pytest.raises(CommandError) as raised:
        await run(("kl-no-such-tool", "--version"))
    assert raised.value.returncode == 127
    assert str(raised.value) == ("`kl-no-such-tool --version` failed (exit 127): kl-no-such-tool: command not found "
                                 "(install kl-no-such-tool)")


async def test_a_command_that_does_not_answer_is_killed_and_reported() -> None:
    with pytest.raises(CommandError) as raised:
        await run(("sleep", "30"), timeout=0.2)
    assert str(raised.value) == "`sleep 30` failed (timed out): no answer after 0.2s"
