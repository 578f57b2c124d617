"""Running nft scripts in this process, through libnftables (the library the `nft` command is).

The text is exactly what `nft -f` reads, and it is applied the same way: one script, one kernel
transaction, all or nothing. Calling the library directly instead of starting `nft` matters for how
fast endpoint changes land: starting the program costs about 10 ms on an idle machine and far more
on a busy one, while the transaction itself takes a fraction of a millisecond. The library is not
thread-safe, so scripts run one at a time, in a worker thread (the event loop never blocks).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import threading

LIBRARY = "libnftables.so.1"


class NftError(RuntimeError):
    """nft refused a script; the message is nft's own (what, and where in the script)."""


class Nftables:
    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("nftables") or LIBRARY)
        except OSError as error:
            raise NftError(f"nftables mode needs {LIBRARY} (Debian package nftables): {error}") from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        self._lib = lib
        self._ctx = lib.nft_ctx_new(0)  # NFT_CTX_DEFAULT
        if not self._ctx:
            raise NftError("libnftables could not make a context")
        lib.nft_ctx_buffer_output(self._ctx)
        lib.nft_ctx_buffer_error(self._ctx)
        self._lock = threading.Lock()

    def run_blocking(self, script: str) -> None:
        with self._lock:
            if self._ctx is None:
                raise NftError("libnftables context already closed")
            status = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
            # Reading a buffer empties it, so nothing accumulates from one script to the next.
            self._lib.nft_ctx_get_output_buffer(self._ctx)
            error = self._lib.nft_ctx_get_error_buffer(self._ctx) or b""
            if status != 0:
                raise NftError(error.decode(errors="replace").strip() or f"nft failed ({status})")

    async def run(self, script: str) -> None:
        await asyncio.to_thread(self.run_blocking, script)

    def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None
