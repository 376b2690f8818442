"""The source app never lets Werkzeug spool an uploaded file to disk."""

import io
import os
from pathlib import Path

import pytest
from flask import Flask, request

from source_app.errors import SpoolingRefused


def test_reading_files_the_werkzeug_way_is_refused(app: Flask, tmp_path: Path) -> None:
    before = set(os.listdir("/tmp"))
    with (
        app.test_request_context(
            "/anything",
            method="POST",
            data={"fh": (io.BytesIO(b"secret" * 200_000), "a.bin")},
            content_type="multipart/form-data",
        ),
        pytest.raises(SpoolingRefused),
    ):
        request.files.get("fh")
    assert set(os.listdir("/tmp")) - before == set()


def test_small_ordinary_forms_still_work(app: Flask) -> None:
    with app.test_request_context("/login", method="POST", data={"codename": "a b c"}):
        assert request.form["codename"] == "a b c"
