// Runs an RP2040 firmware ELF under rp2040js (core 0 only), headless.
//
//   node run.mjs <elf> [timeout-seconds]     (default timeout: 120 s wall)
//
// rp2040js has no boot ROM, so this loads the ELF's PT_LOAD segments that
// live in flash (0x1000_0000..) itself, checks the boot2 CRC the real boot
// ROM would check, points VTOR at the vector table after boot2 (0x1000_0100)
// and starts there: boot2 itself never runs.
//
// UART0 output is streamed to stdout. The run ends when the firmware prints
// a line `gort-exit: <status>`; this script then exits with <status>.
// Exit 124: wall-clock timeout; 125: no exit line (emulator error, BKPT,
// bad ELF). Statistics (emulated cycles, simulated time, speed) and
// emulator warnings go to stderr.
//
// WFI/WFE: rp2040js parks the core until an interrupt; when the core waits
// and no emulated timer event is pending, nothing could ever wake it (there
// is no core 1 and no UART input), so this runner treats it as a spurious
// wake-up (architecturally allowed) after 1 us of simulated time and
// counts it ("idle wake-ups" in the summary). SEV is fixed up to set the
// event register as on silicon (see RigLogger below).
import { readFileSync } from 'node:fs';
import { RP2040, ConsoleLogger, LogLevel } from 'rp2040js';

const FLASH_BASE = 0x1000_0000;
const FLASH_SIZE = 16 * 1024 * 1024;
const RAM_BASE = 0x2000_0000;
const RAM_SIZE = 264 * 1024;
const VECTOR_TABLE = FLASH_BASE + 0x100;

const [elfPath, timeoutArg] = process.argv.slice(2);
if (!elfPath) {
  console.error('usage: node run.mjs <elf> [timeout-seconds]');
  process.exit(2);
}
const timeoutMs = 1000 * (timeoutArg === undefined ? 120 : Number(timeoutArg));
if (!(timeoutMs > 0)) {
  console.error(`rp2040 rig: bad timeout '${timeoutArg}'`);
  process.exit(2);
}

function fail(msg, status = 125) {
  console.error(`rp2040 rig: ${msg}`);
  process.exit(status);
}

// ------------------------------------------------------------------ ELF32

/** Returns the PT_LOAD program headers of a little-endian ARM ELF32 file. */
function readElfSegments(buf) {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 1) throw new Error('not ELF32 (EI_CLASS != 1)');
  if (buf[5] !== 1) throw new Error('not little-endian (EI_DATA != 1)');
  const machine = buf.readUInt16LE(18);
  if (machine !== 40) throw new Error(`e_machine ${machine} is not ARM (40)`);
  const phoff = buf.readUInt32LE(28);
  const phentsize = buf.readUInt16LE(42);
  const phnum = buf.readUInt16LE(44);
  const segments = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 32 > buf.length) throw new Error('truncated program header table');
    const ph = {
      type: buf.readUInt32LE(at),
      offset: buf.readUInt32LE(at + 4),
      vaddr: buf.readUInt32LE(at + 8),
      paddr: buf.readUInt32LE(at + 12),
      filesz: buf.readUInt32LE(at + 16),
      memsz: buf.readUInt32LE(at + 20),
    };
    if (ph.type === 1 /* PT_LOAD */) segments.push(ph);
  }
  return segments;
}

/** CRC-32/MPEG-2 (poly 0x04c11db7, MSB first, init ~0, no final xor): the boot ROM's boot2 check. */
function crc32mpeg2(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

// ------------------------------------------------------------------ setup

// rp2040js reports unimplemented registers with console.warn; keep the first
// few of each message and count the rest.
const warnCounts = new Map();
const origWarn = console.warn.bind(console);
console.warn = (...args) => {
  const key = args.join(' ').replace(/^\d\d:\d\d:\d\d\.\d+ /, '');
  const n = (warnCounts.get(key) ?? 0) + 1;
  warnCounts.set(key, n);
  if (n <= 3) origWarn(`rp2040js: ${key}${n === 3 ? ' (further repeats counted)' : ''}`);
};

let elf;
try {
  elf = readFileSync(elfPath);
} catch (e) {
  fail(`cannot read ${elfPath}: ${e.message}`);
}

const mcu = new RP2040(); // its constructor resets the core and fills flash with 0xff

// rp2040js's SEV only logs 'SEV' at Info level and does not set the event
// register, so `sev; wfe` parks the core until the next interrupt. On
// silicon SEV also sets the executing core's own event register and that
// WFE returns at once. The logger is the only hook SEV calls: use it to set
// the event register (RP2040_RAW_SEV=1 keeps rp2040js's behaviour).
const rawSev = process.env.RP2040_RAW_SEV === '1';
class RigLogger extends ConsoleLogger {
  info(component, message) {
    if (component === 'CortexM0Core' && message === 'SEV') {
      if (!rawSev) mcu.core.eventRegistered = true;
      return;
    }
    super.info(component, message);
  }
}
mcu.logger = new RigLogger(LogLevel.Warn, true); // rp2040js's default logs at Debug

let segments;
try {
  segments = readElfSegments(elf);
} catch (e) {
  fail(`${elfPath}: ${e.message}`);
}
let loaded = 0;
for (const s of segments) {
  if (s.filesz === 0) continue; // .bss and friends: zeroed by cortex-m-rt
  const data = elf.subarray(s.offset, s.offset + s.filesz);
  if (s.paddr >= FLASH_BASE && s.paddr + s.filesz <= FLASH_BASE + FLASH_SIZE) {
    mcu.flash.set(data, s.paddr - FLASH_BASE);
    loaded += s.filesz;
  } else if (s.paddr >= RAM_BASE && s.paddr + s.filesz <= RAM_BASE + RAM_SIZE) {
    // A real Pico would not have this (only flash survives a reset).
    origWarn(`rp2040 rig: segment at 0x${s.paddr.toString(16)} has file data in RAM; loading it anyway`);
    mcu.sram.set(data, s.paddr - RAM_BASE);
  } else {
    fail(`segment at 0x${s.paddr.toString(16)} (+${s.filesz}) is outside flash and RAM`);
  }
}
if (loaded === 0) fail(`${elfPath}: no flash segments`);

const boot2 = mcu.flash.subarray(0, 256);
const crcWant = new DataView(boot2.buffer, boot2.byteOffset).getUint32(252, true);
if (crc32mpeg2(boot2.subarray(0, 252)) !== crcWant) {
  origWarn('rp2040 rig: warning: boot2 (0x10000000..0x10000100) has no valid CRC32; a real RP2040 would not boot this image');
}

const core = mcu.core;
core.VTOR = VECTOR_TABLE; // what boot2 does before jumping to the application
core.reset(); // SP and PC from the vector table
const initialSp = core.SP;
if (initialSp < RAM_BASE || initialSp > RAM_BASE + RAM_SIZE || (core.PC & 0xff000000) !== FLASH_BASE) {
  fail(`vector table at 0x${VECTOR_TABLE.toString(16)} looks wrong: SP=0x${initialSp.toString(16)} PC=0x${core.PC.toString(16)}`);
}

// ------------------------------------------------------------------ UART

let exitStatus = null;
let line = [];
const out = [];
function onUartByte(byte) {
  out.push(byte);
  if (byte === 0x0a) {
    const text = Buffer.from(line).toString('latin1').replace(/\r$/, '');
    line = [];
    const m = /^gort-exit: (-?\d+)\s*$/.exec(text);
    if (m && exitStatus === null) exitStatus = Number(m[1]) & 0xff;
  } else {
    line.push(byte);
  }
}
function flushOut() {
  if (out.length) {
    process.stdout.write(Buffer.from(out));
    out.length = 0;
  }
}
mcu.uart[0].onByte = onUartByte;

let breakCode = null;
mcu.onBreak = (code) => {
  breakCode = code;
};

// ------------------------------------------------------------------ run

const clock = mcu.clock;
const started = performance.now();
let idleWakeups = 0;
let idleNanos = 0;
let errorMsg = null;
const CHUNK = 200_000; // instructions between wall-clock checks

function runChunk() {
  const cycleNanos = 1e9 / mcu.clkSys;
  for (let i = 0; i < CHUNK; i++) {
    if (core.waiting) {
      const dt = clock.nanosToNextAlarm;
      if (clock.nextAlarm && dt >= 0) {
        clock.tick(dt); // fires the alarm; an interrupt may end the wait
        idleNanos += dt;
      } else {
        core.waiting = false; // nothing can wake it: spurious wake-up
        clock.tick(1000);
        idleNanos += 1000;
        idleWakeups++;
      }
    } else {
      clock.tick(core.executeInstruction() * cycleNanos);
    }
    if (exitStatus !== null || breakCode !== null) return;
  }
}

function finish(status, why) {
  flushOut();
  if (line.length) process.stdout.write('\n');
  const wall = (performance.now() - started) / 1000;
  const simUs = clock.nanos / 1000;
  const cycles = core.cycles;
  const repeated = [...warnCounts.values()].reduce((a, n) => a + Math.max(0, n - 3), 0);
  const lines = [
    `rp2040 rig: ${why}`,
    `rp2040 rig: ${cycles} cycles executed, ${(simUs / 1e6).toFixed(6)} s simulated` +
      ` (idle ${(idleNanos / 1e9).toFixed(6)} s, ${idleWakeups} idle wake-ups),` +
      ` clk_sys ${mcu.clkSys / 1e6} MHz`,
    `rp2040 rig: ${wall.toFixed(3)} s wall, ${(cycles / wall / 1e6).toFixed(1)} M cycles/s` +
      ` (${(simUs / 1e6 / wall).toFixed(3)}x real time)` +
      (repeated ? `, ${repeated} repeated emulator warnings not shown` : ''),
  ];
  process.stderr.write(lines.join('\n') + '\n', () => process.exit(status));
}

function step() {
  try {
    runChunk();
  } catch (e) {
    errorMsg = e && e.message ? e.message : String(e);
  }
  if (exitStatus !== null) return finish(exitStatus, `gort-exit: ${exitStatus}`);
  if (errorMsg !== null) return finish(125, `emulator error at PC=0x${core.PC.toString(16)}: ${errorMsg}`);
  if (breakCode !== null) return finish(125, `BKPT/UDF #${breakCode} at PC=0x${core.PC.toString(16)} before any gort-exit line`);
  flushOut();
  if (performance.now() - started > timeoutMs) {
    return finish(124, `timeout after ${timeoutMs / 1000} s wall, no gort-exit line (PC=0x${core.PC.toString(16)}${core.waiting ? ', waiting' : ''})`);
  }
  setImmediate(step);
}
step();
