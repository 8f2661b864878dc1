"""Runs a wasm32-wasip1-threads program under wasmtime-py, with threads.

    python host.py PROGRAM.wasm [ARGS...]

WASI preview1 with stdin/stdout/stderr, arguments and environment inherited;
the program's exit code (proc_exit) becomes ours. Implements the
`wasi`.`thread-spawn` import of the wasi-threads proposal: one shared memory
for all threads; each spawned thread is a new Store + Linker + Instance of the
same module on a new Python thread, entered at `wasi_thread_start(tid, arg)`.
Calls into wasm release Python's lock, so wasm threads run in parallel.

`clock_time_get` is served from the host's clocks, not wasmtime's: wasmtime's
WASI monotonic clock counts from the creation of each Store, i.e. from each
thread's start here, so readings on two threads would not compare (a timer
thread then fires sleeps "early" by the sleeper's clock and they hang).

A trap (Rust panics abort, which traps) or proc_exit on any thread ends the
whole process at once, as in the wasmtime CLI: traps exit with 134 (128 +
SIGABRT), with the trap and the program's own frames of the wasm
backtrace (GORT_WASM_FULL_TRAP=1 prints all of it).
"""

import ctypes
import os
import re
import signal
import sys
import threading
import time

import wasmtime
from wasmtime import _ffi as ffi

TRAP_EXIT = 134

# For host functions whose data needs no cleanup.
NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _data: None)


def _shared_memory_as_extern(self):
    # wasmtime-py 50.0.1 wraps the pointer in a second ctypes.pointer()
    # ("incompatible types, LP_LP_wasmtime_sharedmemory_t"): the union wants
    # the wasmtime_sharedmemory_t pointer itself.
    union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
    return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)


wasmtime.SharedMemory._as_extern = _shared_memory_as_extern


def die(code, message=None):
    if message:
        sys.stderr.write(f"host.py: {message}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(code)


# Frames of std, core, alloc, libtest and the panic machinery.
RUNTIME_FRAME = re.compile(r"!(<?(std|core|alloc|test|__rustc|panic_\w+)\b|abort$)")


def trap_summary(message):
    if os.environ.get("GORT_WASM_FULL_TRAP"):
        return message
    lines = message.splitlines()
    frames = [l for l in lines if re.match(r"\s+\d+:", l) and not RUNTIME_FRAME.search(l)]
    cause = next((l.strip() for l in reversed(lines) if l.strip()), "trap")
    return "\n".join([cause] + frames[:6])


def run_guarded(what, call):
    """Runs `call`; ends the process on proc_exit or a trap."""
    try:
        call()
    except wasmtime.ExitTrap as e:
        die(e.code)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        die(TRAP_EXIT, f"{what}: {trap_summary(str(e))}")
    except Exception as e:  # a host bug: never leave the other threads hanging
        die(1, f"{what}: {e!r}")


class Host:
    def __init__(self, path, argv):
        config = wasmtime.Config()
        config.wasm_threads = True
        config.shared_memory = True
        config.cache = True  # wasmtime's on-disk compile cache
        self.engine = wasmtime.Engine(config)
        self.module = wasmtime.Module.from_file(self.engine, path)
        self.argv = argv
        self.memories = {}  # (module, name) -> SharedMemory
        for imp in self.module.imports:
            if isinstance(imp.type, wasmtime.MemoryType):
                if not imp.type.is_shared:
                    die(2, f"{path}: memory {imp.module}.{imp.name} is not shared")
                key = (imp.module, imp.name)
                self.memories[key] = wasmtime.SharedMemory(self.engine, imp.type)
        self.next_tid = 1
        self.tid_lock = threading.Lock()
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        self.clock_ty = wasmtime.FuncType([i32, i64, i32], [i32])
        # Kept alive here: every Linker holds a raw pointer to it.
        self.clock_time_get = self.make_clock_time_get()

    def instantiate(self):
        """A new Store + Linker + Instance sharing the one memory."""
        store = wasmtime.Store(self.engine)
        wasi = wasmtime.WasiConfig()
        wasi.argv = self.argv
        wasi.inherit_env()
        wasi.inherit_stdin()
        wasi.inherit_stdout()
        wasi.inherit_stderr()
        store.set_wasi(wasi)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        for (module, name), memory in self.memories.items():
            linker.define(store, module, name, memory)
        spawn_ty = wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()])
        linker.define_func("wasi", "thread-spawn", spawn_ty, self.thread_spawn)
        # wasmtime's WASI monotonic clock counts from the creation of each
        # Store, i.e. from each thread's start here: Instants taken on two
        # threads would not compare. Serve clock_time_get from the host's
        # one clock instead.
        linker.allow_shadowing = True
        module, name = b"wasi_snapshot_preview1", b"clock_time_get"
        error = ffi.wasmtime_linker_define_func_unchecked(
            linker.ptr(), module, len(module), name, len(name),
            self.clock_ty.ptr(), self.clock_time_get, None, NO_FINALIZER)
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        return store, linker.instantiate(store, self.module)

    CLOCKS = {0: time.time_ns, 1: time.monotonic_ns, 2: time.process_time_ns, 3: time.thread_time_ns}

    def make_clock_time_get(self):
        """clock_time_get(id, precision, out) -> errno, as a raw callback.

        Every Instant::now() of every thread comes here, under Python's lock,
        so it skips wasmtime-py's checked trampoline (Caller and Val objects
        per call): about 2 us a call instead of 16 us, 8 us instead of 66 us
        with four threads calling at once.
        """
        (memory,) = self.memories.values()
        # A shared memory never moves: every thread's code uses it without a
        # lock, so it grows in place (seen: same base after growing 500 MiB).
        base = ctypes.addressof(memory.data_ptr().contents)
        data_len = memory.data_len
        clocks = self.CLOCKS
        u64_at = ctypes.c_uint64.from_address

        @ffi.wasmtime_func_unchecked_callback_t
        def clock_time_get(_env, _caller, args, _nargs):
            # args: the parameters in, then the result out, in one array.
            try:
                clock = clocks.get(args[0].i32)
                out = args[2].i32 & 0xFFFFFFFF
                if clock is None:
                    args[0].i32 = 28  # EINVAL
                elif out + 8 > data_len():
                    args[0].i32 = 21  # EFAULT
                else:
                    u64_at(base + out).value = clock()
                    args[0].i32 = 0
                return 0
            except BaseException as e:  # a host bug: ctypes would swallow it
                die(1, f"clock_time_get: {e!r}")

        return clock_time_get

    def thread_spawn(self, start_arg):
        with self.tid_lock:
            tid = self.next_tid
            if tid > 0x1FFFFFFF:
                return -1  # out of thread ids (the spec's range is 1..2^29)
            self.next_tid += 1

        def thread_main():
            def call():
                store, instance = self.instantiate()
                instance.exports(store)["wasi_thread_start"](store, tid, start_arg)

            run_guarded(f"thread {tid}", call)

        try:
            threading.Thread(target=thread_main, name=f"wasm-{tid}", daemon=True).start()
        except RuntimeError:
            return -1  # "can't start new thread"
        return tid

    def run_main(self):
        def call():
            store, instance = self.instantiate()
            instance.exports(store)["_start"](store)

        run_guarded("main thread", call)
        die(0)  # _start returned: exit 0 without waiting for other threads


def main():
    if len(sys.argv) < 2:
        die(2, "usage: host.py PROGRAM.wasm [ARGS...]")
    # Python handles Ctrl-C only between bytecodes, never inside a wasm call.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    path = sys.argv[1]
    Host(path, [path] + sys.argv[2:]).run_main()


if __name__ == "__main__":
    main()
