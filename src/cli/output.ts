/**
 * The CLI's own output: results to stdout, diagnostics to stderr. The one place in src/ that writes
 * to the terminal; tests pass a capturing Io instead.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether a progress bar makes sense (stderr is a terminal). */
  interactive: boolean;
}

// A reader that stops early (`gateway verify-audit | head -1`) closes the pipe: the command stops
// quietly, as Unix tools do, instead of crashing on the next write with an EPIPE stack trace.
let pipeWatched = false;
function stopWhenReaderGoes(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export const stdio: Io = {
  out: (t) => {
    stopWhenReaderGoes();
    process.stdout.write(t);
  },
  err: (t) => {
    process.stderr.write(t);
  },
  interactive: Boolean(process.stderr.isTTY),
};

/** An Io that keeps what is written (tests, embedding). */
export function memoryIo(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    interactive: false,
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
  };
  return io;
}
