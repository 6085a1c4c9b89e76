"""Frame sources on real files, folders and a real HTTP stream on 127.0.0.1."""

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from edge_agent.sources import SourceConfig, SourceError, mask_uri, open_source


def _all(source, stop=None):
    return list(source.frames(stop or threading.Event()))


def test_video_file_yields_every_frame_with_recorded_spacing(make_video):
    path = make_video(n_frames=12, size=(96, 64), fps=10.0)
    source = open_source("cam", SourceConfig(kind="video", uri=str(path)))
    frames = _all(source)
    assert [f.index for f in frames] == list(range(12))
    assert all(f.image.shape == (64, 96, 3) and f.image.dtype == np.uint8 for f in frames)
    assert frames[0].source == str(path) and frames[0].camera_id == "cam"
    assert (frames[5].captured_at - frames[0].captured_at).total_seconds() == pytest.approx(0.5)
    assert frames[0].captured_at.tzinfo is not None
    assert (source.stats.frames_read, source.stats.ended, source.stats.corrupt_frames) == (12, True, 0)


def test_looping_video_restarts_with_time_moving_forward(make_video):
    path = make_video(n_frames=5, fps=10.0)
    source = open_source("cam", SourceConfig(kind="video", uri=str(path), loop=True))
    stop = threading.Event()
    frames = []
    for frame in source.frames(stop):
        frames.append(frame)
        if len(frames) == 12:
            stop.set()
    assert [f.index for f in frames] == [0, 1, 2, 3, 4] * 2 + [0, 1]
    times = [f.captured_at for f in frames]
    assert times == sorted(times) and len(set(times)) == 12
    assert not source.stats.ended


def test_realtime_video_is_paced_by_its_frame_rate(make_video):
    path = make_video(n_frames=6, fps=20.0)
    source = open_source("cam", SourceConfig(kind="video", uri=str(path), realtime=True))
    start = time.monotonic()
    assert len(_all(source)) == 6
    assert time.monotonic() - start >= 0.2  # 5 intervals of 50 ms


def test_garbage_named_mp4_raises_source_error_naming_the_file(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(SourceError, match=r"broken\.mp4 cannot be opened: it is corrupt"):
        open_source("cam", SourceConfig(kind="video", uri=str(bad)))


def test_truncated_video_raises_source_error(make_video, tmp_path):
    data = make_video(n_frames=20).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"cut\.mp4"):
        open_source("cam", SourceConfig(kind="video", uri=str(cut)))


def test_missing_video_and_folder(tmp_path):
    with pytest.raises(SourceError, match=r"nope\.mp4 does not exist"):
        open_source("cam", SourceConfig(kind="video", uri=str(tmp_path / "nope.mp4")))
    with pytest.raises(SourceError, match="does not exist or is not a folder"):
        open_source("cam", SourceConfig(kind="folder", uri=str(tmp_path / "nothing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no files matching '\*\.jpg'"):
        open_source("cam", SourceConfig(kind="folder", uri=str(tmp_path / "empty")))


def test_folder_in_name_order_skips_and_counts_unreadable_images(make_image_folder):
    folder = make_image_folder(n=4)
    (folder / "frame_0001b.jpg").write_bytes(b"not a jpeg")
    source = open_source("cam", SourceConfig(kind="folder", uri=str(folder), folder_fps=2.0))
    frames = _all(source)
    assert [Path(f.source).name for f in frames] == [f"frame_{i:04d}.jpg" for i in range(4)]
    assert [f.index for f in frames] == [0, 1, 3, 4]  # position in the listing, the bad file included
    assert (frames[1].captured_at - frames[0].captured_at).total_seconds() == pytest.approx(0.5)
    assert (source.stats.frames_read, source.stats.corrupt_frames, source.stats.ended) == (4, 1, True)
    assert "frame_0001b.jpg" in source.stats.last_error


def test_folder_glob_and_loop(make_image_folder):
    folder = make_image_folder(n=3)
    (folder / "notes.txt").write_text("ignored")
    stop = threading.Event()
    source = open_source("cam", SourceConfig(kind="folder", uri=str(folder), loop=True))
    frames = []
    for frame in source.frames(stop):
        frames.append(frame)
        if len(frames) == 7:
            stop.set()
    assert [f.index for f in frames] == [0, 1, 2, 0, 1, 2, 0]


def test_passwords_are_masked():
    assert mask_uri("rtsp://admin:s3cret@10.0.0.5:554/stream1") == "rtsp://admin:***@10.0.0.5:554/stream1"
    assert mask_uri("rtsp://10.0.0.5/stream1") == "rtsp://10.0.0.5/stream1"
    assert mask_uri("/videos/a.mp4") == "/videos/a.mp4"


def test_config_validation():
    with pytest.raises(ValidationError, match="device index"):
        SourceConfig(kind="webcam", uri="/dev/video0")
    with pytest.raises(ValidationError, match="must be a URL such as rtsp://"):
        SourceConfig(kind="stream", uri="cam")
    with pytest.raises(ValidationError, match="extra"):
        SourceConfig(kind="video", uri="a.mp4", fps=3)


def test_unreachable_stream_raises_and_counts_each_reconnect():
    """A live source does not retry by itself: it says it cannot open; the camera's watchdog
    calls ``frames`` again (the one place that reconnects), and each such call is counted."""
    port = _closed_port()
    uri = f"http://127.0.0.1:{port}/x.mp4"
    cfg = SourceConfig(kind="stream", uri=uri, open_timeout_s=1, read_timeout_s=1)
    source = open_source("cam", cfg)
    for _ in range(3):
        with pytest.raises(SourceError, match="cannot open"):
            _all(source)
    assert source.stats.reconnects == 2 and source.stats.frames_read == 0
    assert "cannot open" in source.stats.last_error
    source.close()
    assert _all(source) == []  # closed: nothing more, no error


@pytest.fixture
def http_video(make_video):
    """A real HTTP server on 127.0.0.1 serving a 15-frame clip; each GET plays it once then ends."""
    path = make_video(name="live.mp4", n_frames=15)
    handler = functools.partial(_QuietHandler, directory=str(path.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_stream_that_drops_reconnects_and_masks_the_password(http_video):
    cfg = SourceConfig(kind="stream", uri=f"http://viewer:hunter2@{http_video}/live.mp4",
                       reconnect_initial_s=0.05, reconnect_max_s=0.2, open_timeout_s=2, read_timeout_s=2)
    source = open_source("cam", cfg)
    stop = threading.Event()
    frames = []
    stalls = 0
    drops = 0
    while not stop.is_set():  # what the watchdog does, without its waits
        try:
            for frame in source.frames(stop):
                if frame is None:  # the drop is announced before the source gives up
                    stalls += 1
                    continue
                frames.append(frame)
                if len(frames) == 25:  # more than one play of the clip: needs a reconnect
                    stop.set()
        except SourceError as err:
            assert "lost" in str(err)
            drops += 1
    assert source.stats.reconnects == drops >= 1
    assert stalls >= 1
    assert [f.index for f in frames] == list(range(25))  # live indices keep counting
    assert frames[0].source == f"http://viewer:***@{http_video}/live.mp4"
    assert "hunter2" not in (source.stats.last_error or "")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        """Keep the test output clean."""


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_close_while_reading_ends_the_stream_without_stop(http_video):
    cfg = SourceConfig(kind="stream", uri=f"http://{http_video}/live.mp4", open_timeout_s=2, read_timeout_s=2)
    source = open_source("cam", cfg)
    frames = []
    for frame in source.frames(threading.Event()):
        if frame is None:
            continue
        frames.append(frame)
        if len(frames) == 3:
            source.close()  # as the agent does on shutdown; the reading loop releases the capture
    assert len(frames) == 3 and source.stats.reconnects == 0
    assert source._cap is None


def test_video_decoding_threads_are_set_explicitly(make_video):
    """One decoding thread by default (the detector owns the cores); 0 leaves it to FFmpeg."""
    import cv2

    video = make_video(n_frames=4)
    one = open_source("cam", SourceConfig(kind="video", uri=str(video)))
    assert one._cap.get(cv2.CAP_PROP_N_THREADS) == 1
    three = open_source("cam", SourceConfig(kind="video", uri=str(video), decode_threads=3))
    assert three._cap.get(cv2.CAP_PROP_N_THREADS) == 3
    assert len(_all(three)) == 4
    for source in (one, three):
        source.close()


def test_a_video_stopped_early_is_not_reported_as_truncated(make_video, caplog):
    """SIGTERM in the middle of a clip sets ``stop``: the file did not end early, the agent did."""
    path = make_video(n_frames=20)
    source = open_source("cam", SourceConfig(kind="video", uri=str(path)))
    stop = threading.Event()
    read = 0
    for _ in source.frames(stop):
        read += 1
        if read == 5:
            stop.set()
    assert read == 5 and not source.stats.ended
    assert source.stats.last_error is None
    assert not [r for r in caplog.records if "truncated" in r.getMessage()]
