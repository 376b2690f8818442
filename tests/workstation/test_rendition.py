"""Renditions in the store: made once in the sandbox, read-only, logged; hostile files refused,
recorded and never shown, with nothing else in the store changed."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.workstation import MakeBundle, Workstation
from tests.workstation import documents
from tests.workstation.bundles import Sent
from workstation.converters import Converter, convert_media, png_size
from workstation.custody import CustodyLog, verify_custody
from workstation.errors import ConversionRefused, ItemNotFound
from workstation.keys import load_workstation_signer
from workstation.rendition import Rendition, find_rendition, render_item
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.store import EvidenceStore, open_store

QUICK = SandboxLimits(cpu_seconds=10, wall_seconds=30)


def stored(workstation: Workstation, make_bundle: MakeBundle, content: bytes,
           name: str = "file.bin", kind: str = "file") -> str:
    code, _out, err = workstation.run("import", str(make_bundle([Sent(kind, content,
                                                                       name=name)])))
    assert code == 0, err
    return hashlib.sha256(content).hexdigest()


def custody_of(store: EvidenceStore) -> CustodyLog:
    return CustodyLog(store.custody_log_path, store.custody_head_path,
                      load_workstation_signer(store))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the store except the custody log and the renditions, by path."""
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            relative = str(path.relative_to(root))
            if relative.startswith(("renditions", "custody.", ".lock", "gnupg")):
                continue
            found[relative] = path.read_bytes()
    return found


def render(workstation: Workstation, item_id: str, limits: SandboxLimits = QUICK) -> Rendition:
    store = open_store(workstation.store)
    return render_item(store, custody_of(store), item_id, actor="officer-anna", limits=limits)


def test_a_pdf_is_rendered_once_stored_read_only_and_logged(
        workstation: Workstation, make_bundle: MakeBundle) -> None:
    item_id = stored(workstation, make_bundle, documents.pdf_with_pages(2), "report.pdf")
    rendition = render(workstation, item_id)
    assert rendition.kind == "pages"
    assert rendition.item_id == item_id
    assert [path.name for path in rendition.files] == ["page-0001.png", "page-0002.png"]
    assert all(png_size(path) == (1131, 1600) for path in rendition.files)
    assert all(path.stat().st_mode & 0o777 == 0o444 for path in rendition.files)
    assert set(rendition.tools) == {"bwrap", "pdfinfo", "pdftoppm"}
    assert rendition.tools["pdftoppm"].startswith("poppler-utils ")
    assert rendition.text is None
    assert rendition.note is None
    assert not rendition.refused
    store = open_store(workstation.store)
    [entry] = [e for e in custody_of(store).history_of(item_id) if e["action"] == "render"]
    assert entry["actor"] == "officer-anna"
    assert entry["details"]["outcome"] == "rendered"
    assert entry["details"]["tools"] == rendition.tools
    assert entry["details"]["outputs"] == {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in rendition.files}
    # The second call returns the stored rendition: nothing runs, nothing is logged.
    again = render(workstation, item_id, SandboxLimits(cpu_seconds=0))
    assert again == rendition == find_rendition(store, item_id)
    assert len([e for e in custody_of(store).entries() if e["action"] == "render"]) == 1
    verify_custody(store.custody_log_path, store.custody_head_path,
                   load_workstation_signer(store).public_key)


def test_a_message_is_rendered_as_clean_text(workstation: Workstation,
                                             make_bundle: MakeBundle) -> None:
    item_id = stored(workstation, make_bundle, "Мяне затрымалі\u202e 9 жніўня\x1b\n".encode(),
                     kind="message")
    rendition = render(workstation, item_id)
    assert rendition.kind == "text"
    assert rendition.text == "Мяне затрымалі 9 жніўня\n"
    assert rendition.files == ()


def test_the_render_command_prints_where_the_pages_are(workstation: Workstation,
                                                       make_bundle: MakeBundle) -> None:
    item_id = stored(workstation, make_bundle, documents.pdf_with_pages(1), "scan.pdf")
    code, out, err = workstation.run("render", item_id[:10])
    assert code == 0, err
    assert f"rendition of {item_id} (pages)" in out
    assert str(workstation.store / "renditions" / item_id) in out
    assert "page-0001.png" in out


def test_an_unknown_item_is_a_clear_error(workstation: Workstation) -> None:
    store = open_store(workstation.store)
    with pytest.raises(ItemNotFound):
        render_item(store, custody_of(store), "0" * 64, actor="officer-anna")
    assert find_rendition(store, "../../etc") is None


def refused(workstation: Workstation, make_bundle: MakeBundle, content: bytes,
            limits: SandboxLimits = QUICK) -> tuple[Rendition, dict[str, object]]:
    """Render a hostile file; check it was refused, recorded and the store left alone."""
    item_id = stored(workstation, make_bundle, content)
    before = snapshot(workstation.store)
    rendition = render(workstation, item_id, limits)
    assert rendition.kind == "none"
    assert rendition.refused
    assert rendition.files == ()
    assert snapshot(workstation.store) == before
    store = open_store(workstation.store)
    [entry] = [e for e in custody_of(store).history_of(item_id) if e["action"] == "render"]
    assert entry["details"]["outcome"] == "refused"
    assert entry["details"]["reason"] == rendition.note
    assert list((workstation.store / "tmp").iterdir()) == []
    return rendition, entry


def test_a_pixel_bomb_is_refused_before_decoding(workstation: Workstation,
                                                 make_bundle: MakeBundle) -> None:
    rendition, _entry = refused(workstation, make_bundle,
                                documents.png_claiming(100_000, 100_000))
    assert rendition.note == ("the image claims 100000 × 100000 pixels, more than the 50 million"
                              " allowed; it may be a decompression bomb")


def test_a_decompression_bomb_hits_the_memory_limit(workstation: Workstation,
                                                    make_bundle: MakeBundle) -> None:
    rendition, entry = refused(workstation, make_bundle, documents.png_decompression_bomb(7000),
                               SandboxLimits(memory_bytes=96 * 1024 * 1024))
    assert rendition.note is not None
    assert "hit the sandbox's memory limit (96 MiB of memory)" in rendition.note
    assert "pillow" in entry["details"]["tools"]


def test_a_pdf_of_nested_forms_is_stopped_by_the_cpu_limit(workstation: Workstation,
                                                           make_bundle: MakeBundle) -> None:
    rendition, _entry = refused(workstation, make_bundle, documents.pdf_of_nested_forms(),
                                SandboxLimits(cpu_seconds=3, wall_seconds=30))
    assert rendition.note is not None
    assert "(pdftoppm) hit the sandbox's CPU time limit (3 s of processor time)" in rendition.note


def test_a_pdf_claiming_a_million_pages_is_refused_by_poppler(
        workstation: Workstation, make_bundle: MakeBundle) -> None:
    rendition, _entry = refused(workstation, make_bundle, documents.pdf_of_a_million_pages())
    assert rendition.note is not None
    assert rendition.note.startswith("pdfinfo could not read")


def test_a_pdf_that_never_ends_is_stopped_by_the_clock(workstation: Workstation,
                                                       make_bundle: MakeBundle) -> None:
    rendition, _entry = refused(workstation, make_bundle, documents.pdf_of_nested_forms(),
                                SandboxLimits(cpu_seconds=60, wall_seconds=2))
    assert rendition.note is not None
    assert rendition.note.startswith("the file took more than 2 s to convert (pdftoppm) and was"
                                     " stopped; it may be built to exhaust the machine")


def test_a_gif_of_ten_thousand_frames_shows_its_first(workstation: Workstation,
                                                      make_bundle: MakeBundle) -> None:
    item_id = stored(workstation, make_bundle, documents.gif_of_frames(10_000))
    started = time.monotonic()
    rendition = render(workstation, item_id)
    assert time.monotonic() - started < 20
    assert rendition.kind == "image"
    assert [png_size(path) for path in rendition.files] == [(64, 64)]
    assert rendition.note == "an animated image: only its first frame is shown"


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it receives."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = int(self.server.getsockname()[1])
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.mark.slow
def test_an_office_file_linking_to_the_network_and_local_files_reaches_neither(
        workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(documents.pattern_image(tmp_path, "secret.png", 64, 64))
    listener = Listener()
    try:
        odt = documents.odt_linking_out(listener.port, secret)
        # Outside the sandbox LibreOffice does fetch the linked image: the listener hears it.
        (tmp_path / "control.odt").write_bytes(odt)
        subprocess.run(["soffice", "--headless", "--norestore",
                        f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                        "--convert-to", "pdf", "--outdir", str(tmp_path / "control"),
                        str(tmp_path / "control.odt")], capture_output=True, timeout=120,
                       check=True)
        deadline = time.monotonic() + 5
        while listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listener.connections >= 1
        heard_outside = listener.connections
        for content in (odt, documents.docx(external_image=
                                            f"http://127.0.0.1:{listener.port}/x.png")):
            item_id = stored(workstation, make_bundle, content)
            rendition = render(workstation, item_id, SandboxLimits())
            assert rendition.kind == "pages"
        time.sleep(0.5)
        assert listener.connections == heard_outside
    finally:
        listener.close()


def test_an_hls_playlist_naming_another_file_is_not_followed(
        workstation: Workstation, make_bundle: MakeBundle, tmp_path: Path) -> None:
    segment = tmp_path / "other-evidence.ts"
    segment.write_bytes(documents.encode_with_ffmpeg(
        tmp_path, "seg.ts", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "1"))
    playlist = documents.hls_playlist(segment)
    # In the store it is text: ffmpeg never sees it.
    item_id = stored(workstation, make_bundle, playlist, name="clip.mp4")
    rendition = render(workstation, item_id)
    assert rendition.kind == "text"
    assert str(segment) in (rendition.text or "")
    # Given to the media converter anyway, ffmpeg refuses the playlist format.
    (tmp_path / "playlist").write_bytes(playlist)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ConversionRefused, match="ffprobe could not read the file"):
        convert_media(Converter(Sandbox(), QUICK, work), tmp_path / "playlist")


def test_the_render_command_reports_a_refusal_in_plain_words(
        workstation: Workstation, make_bundle: MakeBundle) -> None:
    item_id = stored(workstation, make_bundle, documents.png_claiming(90_000, 90_000))
    code, out, err = workstation.run("render", item_id)
    assert code == 1
    assert "Traceback" not in out + err
    assert "note: the image claims 90000 × 90000 pixels" in out
    assert "NOT RENDERED" in err
    # Asked again, the stored refusal is reported; nothing runs and nothing more is logged.
    code, out, _err = workstation.run("render", item_id)
    assert code == 1
    store = open_store(workstation.store)
    assert len([e for e in custody_of(store).entries() if e["action"] == "render"]) == 1
