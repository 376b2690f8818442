"""An import killed at any step: no original without its import entry, and the next command
finishes or drops what was left, so store and custody log agree again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.workstation import MakeBundle, Workstation, first_submission
from tests.workstation.bundles import Sent
from workstation.cli import EXIT_VERIFICATION_FAILED

REPO = Path(__file__).resolve().parents[2]


def import_killed_at(workstation: Workstation, bundle: Path, step: str) -> None:
    """Run `import` in a child process that is SIGKILLed as it reaches `step`.

    `commit`: the entries are prepared and staged but not yet in the log.
    `place`: the entries are in the log, the items still staged in tmp/.
    """
    script = textwrap.dedent(f"""
        import os, signal, sys
        import workstation.custody, workstation.importer
        from workstation.cli import main

        def crash(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        if {step!r} == "commit":
            original = workstation.custody.CustodyLog.commit
            def commit(self, entries):
                if any(e["action"] == "import" for e in entries):
                    crash()
                return original(self, entries)
            workstation.custody.CustodyLog.commit = commit
        else:
            workstation.importer.place_pending = crash
        sys.exit(main(["import", "--store", {str(workstation.store)!r}, "--actor", "anna",
                       {str(bundle)!r}]))
    """)
    child = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                           text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.returncode == -9, child.stderr


def custody_entries(store: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (store / "custody.log").read_text().splitlines()]


def originals(store: Path) -> list[str]:
    return sorted(path.name for path in (store / "originals").iterdir())


def test_killed_after_logging_the_import_is_finished_by_repair_without_new_entries(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle(first_submission(["platform"]))

    import_killed_at(workstation, bundle, "place")

    imports = [e for e in custody_entries(workstation.store) if e["action"] == "import"]
    assert len(imports) == 2
    assert originals(workstation.store) == []  # still staged: nothing stands unrecorded
    code, _out, err = workstation.run("custody", "verify")
    assert code == EXIT_VERIFICATION_FAILED
    assert err.count("missing:") == 2
    assert "interrupted import holds it" in err
    assert "custody repair" in err

    code, out, _err = workstation.run("custody", "repair")

    assert code == 0
    assert "completed an interrupted import" in out
    assert originals(workstation.store) == sorted(str(e["item"]) for e in imports)
    assert [e for e in custody_entries(workstation.store) if e["action"] == "import"] == imports
    assert list((workstation.store / "tmp").iterdir()) == []
    assert workstation.run("custody", "verify")[0] == 0
    code, out, _ = workstation.run("import", str(bundle))
    assert code == 0
    assert "imported before" in out


def test_killed_after_logging_the_import_is_finished_by_the_next_import(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    first = make_bundle(first_submission(["platform"]))
    import_killed_at(workstation, first, "place")

    code, out, err = workstation.run("import", str(make_bundle([Sent("message", b"later")])))

    assert code == 0, err
    assert "store: completed an interrupted import" in out
    assert len(originals(workstation.store)) == 3
    assert workstation.run("custody", "verify")[0] == 0


def test_killed_before_logging_leaves_nothing_and_the_bundle_imports_again(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    log_before = (workstation.store / "custody.log").read_bytes()

    import_killed_at(workstation, bundle, "commit")

    assert (workstation.store / "custody.log").read_bytes() == log_before
    assert originals(workstation.store) == []
    assert list((workstation.store / "bundles").iterdir()) == []
    assert workstation.run("custody", "verify")[0] == 0

    code, out, err = workstation.run("import", str(bundle))

    assert code == 0, err
    assert "dropped an interrupted import" in out
    assert out.count("imported ") == 2
    assert len([e for e in custody_entries(workstation.store) if e["action"] == "import"]) == 2
    assert list((workstation.store / "tmp").iterdir()) == []
    assert workstation.run("custody", "verify")[0] == 0


def test_a_logged_import_whose_staged_items_are_gone_is_reported_and_restored_by_reimport(
    workstation: Workstation, make_bundle: MakeBundle
) -> None:
    bundle = make_bundle(first_submission(["platform"]))
    import_killed_at(workstation, bundle, "place")
    [pending] = (workstation.store / "tmp").glob("pending-*")
    subprocess.run(["chmod", "-R", "u+w", str(pending)], check=True)
    subprocess.run(["rm", "-rf", str(pending)], check=True)

    code, _out, err = workstation.run("custody", "verify")

    assert code == EXIT_VERIFICATION_FAILED
    assert "no interrupted import holds it" in err
    assert pending.name.removeprefix("pending-") in err  # names the bundle to import again
    code, _out, err = workstation.run("import", str(bundle))
    assert code == 0, err
    assert len(originals(workstation.store)) == 2
    assert workstation.run("custody", "verify")[0] == 0
