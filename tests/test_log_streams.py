"""The suite's log-stream guard: a library handler made under an earlier test's (now closed)
capture stream must not print "--- Logging error ---" into a later test's stderr."""
import io
import logging
import sys

from tests.conftest import rebind_closed_log_streams


def capture_stream() -> io.TextIOWrapper:
    """Like pytest's capture stream: unlike a StringIO, its ``flush`` raises once closed."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def library_style_logger(name: str, stream: io.TextIOWrapper) -> logging.Logger:
    """A logger set up the way diffusers and transformers set theirs up: a plain StreamHandler
    on the stderr of the moment, with ``flush`` pinned to that stream's own method."""
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(stream)
    handler.flush = stream.flush
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def test_handler_on_closed_stream_writes_to_current_stderr(capsys):
    earlier = capture_stream()
    logger = library_style_logger("spacetime-test.closed-stream", earlier)
    try:
        earlier.close()
        rebind_closed_log_streams()
        logger.warning("a library warning")
        err = capsys.readouterr().err
        assert "a library warning" in err
        assert "Logging error" not in err and "Traceback" not in err
    finally:
        logger.handlers.clear()


def test_handler_on_open_stream_is_left_alone():
    stream = capture_stream()
    logger = library_style_logger("spacetime-test.open-stream", stream)
    try:
        rebind_closed_log_streams()
        logger.warning("kept")
        assert stream.buffer.getvalue() == b"kept\n"
        assert logger.handlers[0].stream is stream and sys.stderr is not stream
    finally:
        logger.handlers.clear()
