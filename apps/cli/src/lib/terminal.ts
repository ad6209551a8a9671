// Terminal output helpers shared by every command: a progress line that redraws in place on a TTY
// and degrades to one line per step when output is piped (CI logs, tests).

const isTty = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && process.env.TERM !== "dumb";

const SPINNER_FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** A bar like `[#####.....] 50%` of the given width. */
export function renderBar(fraction: number, width = 24): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%`;
}

export interface Progress {
  /** Change the text after the spinner; `fraction` (0..1) adds a bar. */
  update(text: string, fraction?: number): void;
  /** Finish with a final line (✓ on success, ✗ on failure). */
  done(text?: string): void;
  fail(text?: string): void;
}

/**
 * A progress indicator on stderr (stdout stays clean for values such as `ganboard db url`).
 * On a TTY it animates a spinner with elapsed time; otherwise it prints each distinct step once.
 */
export function startProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const tty = isTty(stream);
  let text = label;
  let fraction: number | undefined;
  let frame = 0;
  let lastPrinted = "";
  let finished = false;

  const line = (): string => {
    const bar = fraction === undefined ? "" : ` ${renderBar(fraction)}`;
    return `${text}${bar} (${formatDuration(Date.now() - started)})`;
  };
  const draw = (): void => {
    if (!tty || finished) return;
    const columns = stream.columns ?? 100;
    const content = `${SPINNER_FRAMES[frame++ % SPINNER_FRAMES.length]} ${line()}`;
    stream.write(`\r\x1b[2K${content.slice(0, Math.max(10, columns - 1))}`);
  };
  const printStep = (): void => {
    if (tty || text === lastPrinted) return;
    lastPrinted = text;
    stream.write(`… ${text}\n`);
  };

  const timer = tty ? setInterval(draw, 100) : undefined;
  timer?.unref();
  draw();
  printStep();

  const finish = (mark: string, finalText: string | undefined): void => {
    if (finished) return;
    finished = true;
    if (timer) clearInterval(timer);
    const summary = `${mark} ${finalText ?? text} (${formatDuration(Date.now() - started)})`;
    stream.write(tty ? `\r\x1b[2K${summary}\n` : `${summary}\n`);
  };

  return {
    update(nextText, nextFraction) {
      text = nextText;
      fraction = nextFraction;
      draw();
      printStep();
    },
    done: (finalText) => finish("✓", finalText),
    fail: (finalText) => finish("✗", finalText),
  };
}

/** A line for the person at the terminal (stderr), so stdout can carry values for scripts. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}
