/*
 * Stand-in bcryptprimitives.dll for Wine builds that lack it (Debian 12's
 * Wine 8.0). Rust >= 1.78 std imports ProcessPrng from this DLL for its
 * random seeds; without it every Windows test binary fails to load.
 * ProcessPrng fills the buffer from SystemFunction036 (RtlGenRandom, in
 * advapi32), whose length is a ULONG, so large requests go in chunks.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *        bcryptprimitives.c -ladvapi32 -Wl,--kill-at
 */
#include <windows.h>

/* RtlGenRandom's real name; ntsecapi.h only declares it behind a macro. */
__declspec(dllimport) BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    const SIZE_T chunk = 0x80000000u; /* < 2^32, fits a ULONG */
    while (len > 0) {
        ULONG n = (ULONG)(len < chunk ? len : chunk);
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    /* Windows documents ProcessPrng as always returning TRUE. */
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
