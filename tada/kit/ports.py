"""TCP port helpers for the local stack."""

from __future__ import annotations

import socket
import time

from tada.errors import PortInUseError as PortInUseError  # raised here, and by the API and the codec server


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """True if a server could bind ``host:port`` now.

    SO_REUSEADDR mirrors what real servers do, so a port left in TIME_WAIT by a
    server that just stopped counts as free while one being listened on does not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_port_free(host: str, port: int, service: str) -> None:
    if not port_is_free(host, port):
        raise PortInUseError(port, service, host)


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until ``host:port`` accepts connections; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not port_accepts(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.1)


def wait_for_port_free(host: str, port: int, timeout: float = 15.0) -> bool:
    """Block until ``host:port`` can be bound again; returns False if it is still taken at the deadline."""
    deadline = time.monotonic() + timeout
    while not port_is_free(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
